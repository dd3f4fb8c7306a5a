// Package listener makes an autostop load balancer's listeners what the
// workflow needs: HTTPS 443 with the certificate, forwarding to the proxy
// target group, and HTTP 80 redirecting to it; or, without a certificate,
// HTTP 80 forwarding to the proxy target group.
//
// It works like aws-load-balancer-controller's listener manager: synthesize
// the desired listeners, diff them with the load balancer's listeners, and
// make only the calls that close the gap. A listener autostop does not own
// (by its tags) is never changed.
package listener

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
)

// ELBv2 is the part of the Elastic Load Balancing v2 API this package uses;
// *elasticloadbalancingv2.Client satisfies it.
type ELBv2 interface {
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	CreateListener(ctx context.Context, in *elbv2.CreateListenerInput, opts ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error)
	ModifyListener(ctx context.Context, in *elbv2.ModifyListenerInput, opts ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error)
	DeleteListener(ctx context.Context, in *elbv2.DeleteListenerInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error)
	AddTags(ctx context.Context, in *elbv2.AddTagsInput, opts ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	RemoveTags(ctx context.Context, in *elbv2.RemoveTagsInput, opts ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error)
}

// Kind is the Resource kind of a listener.
const Kind = "listener"

// maxTagARNs is DescribeTags' limit of resource ARNs per call.
const maxTagARNs = 20

// listLoadBalancerListeners returns every listener of the load balancer.
func listLoadBalancerListeners(ctx context.Context, api ELBv2, lbARN string) ([]types.Listener, error) {
	var out []types.Listener
	p := elbv2.NewDescribeListenersPaginator(api, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Listeners...)
	}

	return out, nil
}

// listenerTags returns the tags of each listener ARN, by ARN.
func listenerTags(ctx context.Context, api ELBv2, arns []string) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string, len(arns))
	for start := 0; start < len(arns); start += maxTagARNs {
		chunk := arns[start:min(start+maxTagARNs, len(arns))]
		res, err := api.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("describe tags of listeners %v: %w", chunk, err)
		}
		for _, d := range res.TagDescriptions {
			tags := make(map[string]string, len(d.Tags))
			for _, t := range d.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = tags
		}
	}

	return out, nil
}

// sdkTags turns autostop's tags into the SDK's list, in a stable order.
func sdkTags(tags map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(tags))
	for _, k := range ownership.Keys(tags) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}

	return out
}

func isListenerNotFound(err error) bool {
	var nf *types.ListenerNotFoundException

	return errors.As(err, &nf)
}

func isLoadBalancerNotFound(err error) bool {
	var nf *types.LoadBalancerNotFoundException

	return errors.As(err, &nf)
}
