package localalb

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// serveInstance proxies req to one of tg's healthy targets, round robin, at
// http://<address>:<target port><path>, where an instance's address is its
// kumo:address tag, else its private IP address, and an ip target's is its
// ID. With no healthy target it answers 503, as the ALB does; when the
// target cannot be reached, 502 (504 when the connection timed out).
//
// The target receives the evaluated host as Host, X-Forwarded-For with the
// client's address appended, X-Forwarded-Proto and X-Forwarded-Port of the
// evaluated listener, and X-Amzn-Trace-Id.
func (f *Front) serveInstance(w http.ResponseWriter, req *request, tg *targetGroup) {
	healthy := healthyTargets(tg)
	if len(healthy) == 0 {
		f.log.Info("no healthy target", "targetGroup", tg.arn, "targets", len(tg.targets))
		writeError(w, http.StatusServiceUnavailable)
		return
	}
	t := healthy[f.roundRobin(tg.arn, len(healthy))]
	if t.address == "" {
		f.log.Warn("the target's address is unknown", "targetGroup", tg.arn, "target", t.id)
		writeError(w, http.StatusBadGateway)
		return
	}
	upstream := &url.URL{Scheme: "http", Host: net.JoinHostPort(t.address, strconv.Itoa(int(t.port)))}
	log := f.log.With("targetGroup", tg.arn, "target", t.id, "upstream", upstream.Host)

	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = req.host
			pr.Out.Header.Set("X-Forwarded-For", req.forwardedFor())
			pr.Out.Header.Set("X-Forwarded-Proto", req.scheme())
			pr.Out.Header.Set("X-Forwarded-Port", req.forwardedPort())
			pr.Out.Header.Set("X-Amzn-Trace-Id", req.traceID())
		},
		Transport: f.cfg.Transport,
		ModifyResponse: func(resp *http.Response) error {
			if loc := resp.Header.Get("Location"); loc != "" {
				resp.Header.Set("Location", req.localizeLocation(loc))
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			status := upstreamErrorStatus(err)
			if r.Context().Err() == nil {
				log.Warn("forward to the target", "status", status, "error", err)
			}
			writeError(w, status)
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	proxy.ServeHTTP(w, req.r)
}

// healthyTargets are the targets traffic may go to.
func healthyTargets(tg *targetGroup) []target {
	var out []target
	for _, t := range tg.targets {
		if t.state == types.TargetHealthStateEnumHealthy {
			out = append(out, t)
		}
	}

	return out
}

// upstreamErrorStatus is the ALB's answer when a target fails: 504 when the
// connection or the response timed out, 502 otherwise (refused, reset,
// malformed response).
func upstreamErrorStatus(err error) int {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return http.StatusGatewayTimeout
	}

	return http.StatusBadGateway
}
