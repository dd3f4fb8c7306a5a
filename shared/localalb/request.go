package localalb

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// localhostSuffix is stripped from the request's host before the rules see
// it: browsers resolve any *.localhost name to loopback.
const localhostSuffix = ".localhost"

// request is what the rules and targets see of one client request.
type request struct {
	r *http.Request
	// host is the evaluated host: the Host header without its port and
	// without a ".localhost" suffix. Rules match it; targets receive it.
	host string
	// localhost is set when the client's host carried the suffix.
	localhost bool
	// clientIP is the client's address, as the ALB sees the connection.
	clientIP string
	// path is the decoded path the path-pattern conditions match; rawPath
	// and rawQuery are the path and query as received.
	path, rawPath, rawQuery string
	// listener is the evaluated listener.
	listener listenerView
	// trace is the request's X-Amzn-Trace-Id, once traceID made it.
	trace string
}

func newRequest(r *http.Request, l listenerView) *request {
	host, local := evaluatedHost(r.Host)
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = h
	}

	return &request{
		r: r, host: host, localhost: local, clientIP: ip,
		path: r.URL.Path, rawPath: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery,
		listener: l,
	}
}

// evaluatedHost returns hostport without its port, a trailing dot, and a
// ".localhost" suffix, and whether the suffix was there.
func evaluatedHost(hostport string) (host string, localhost bool) {
	host = hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	host = strings.TrimSuffix(host, ".")
	if len(host) > len(localhostSuffix) && strings.EqualFold(host[len(host)-len(localhostSuffix):], localhostSuffix) {
		return host[:len(host)-len(localhostSuffix)], true
	}

	return host, false
}

// scheme is the evaluated listener's scheme: what x-forwarded-proto says.
func (req *request) scheme() string {
	if req.listener.protocol == types.ProtocolEnumHttps {
		return "https"
	}

	return "http"
}

// localizeLocation rewrites a Location that points at the evaluated host to
// the address the client used, when the client used a .localhost name: an
// https://demo.example.test:443/x redirect becomes
// http://demo.example.test.localhost:PORT/x, which the browser can follow to
// the front. Any other location is returned unchanged.
func (req *request) localizeLocation(loc string) string {
	if !req.localhost || loc == "" {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" || !strings.EqualFold(u.Hostname(), req.host) {
		return loc
	}
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		return loc
	}
	u.Scheme, u.Host = "http", req.r.Host

	return u.String()
}
