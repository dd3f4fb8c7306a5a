package localalb

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// chooseListener picks the listener whose rules the front evaluates. The
// front serves plain HTTP on loopback, but a client of the real load
// balancer that follows the HTTP listener's redirect ends up on the HTTPS
// listener, so that one is evaluated when there is one:
//
//  1. HTTPS on port 443;
//  2. HTTP on port 80;
//  3. the HTTPS, then the HTTP, listener with the lowest port.
//
// Other protocols (an ALB has none, but a backend may store them) are never
// chosen.
func chooseListener(ls []types.Listener) (types.Listener, bool) {
	rank := func(l types.Listener) int {
		switch port := aws.ToInt32(l.Port); {
		case l.Protocol == types.ProtocolEnumHttps && port == 443:
			return 0
		case l.Protocol == types.ProtocolEnumHttp && port == 80:
			return 1
		case l.Protocol == types.ProtocolEnumHttps:
			return 2
		case l.Protocol == types.ProtocolEnumHttp:
			return 3
		default:
			return -1
		}
	}

	var best types.Listener
	bestRank := -1
	for _, l := range ls {
		r := rank(l)
		if r < 0 {
			continue
		}
		if bestRank < 0 || r < bestRank || (r == bestRank && aws.ToInt32(l.Port) < aws.ToInt32(best.Port)) {
			best, bestRank = l, r
		}
	}

	return best, bestRank >= 0
}
