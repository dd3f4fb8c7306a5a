package localalb

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// terminalAction returns the action that answers the request: the first,
// by Order, that forwards, redirects or answers a fixed response (actions
// before it, such as authenticate-*, are not evaluated locally).
func terminalAction(actions []types.Action) *types.Action {
	sorted := slices.Clone(actions)
	slices.SortStableFunc(sorted, func(a, b types.Action) int {
		return int(aws.ToInt32(a.Order)) - int(aws.ToInt32(b.Order))
	})
	for i := range sorted {
		switch sorted[i].Type {
		case types.ActionTypeEnumForward, types.ActionTypeEnumRedirect, types.ActionTypeEnumFixedResponse:
			return &sorted[i]
		}
	}

	return nil
}

// forwardTargetGroup is the target group a forward action sends this
// request to: its TargetGroupArn, else one of its ForwardConfig's target
// groups, chosen by weight (a missing weight counts 1).
func forwardTargetGroup(a *types.Action) string {
	if arn := aws.ToString(a.TargetGroupArn); arn != "" {
		return arn
	}
	if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
		return ""
	}
	tgs := a.ForwardConfig.TargetGroups
	if len(tgs) == 1 {
		return aws.ToString(tgs[0].TargetGroupArn)
	}

	weight := func(t types.TargetGroupTuple) int {
		if t.Weight == nil {
			return 1
		}
		return int(max(*t.Weight, 0))
	}
	total := 0
	for _, t := range tgs {
		total += weight(t)
	}
	if total == 0 {
		return aws.ToString(tgs[0].TargetGroupArn)
	}
	n := rand.IntN(total)
	for _, t := range tgs {
		if n -= weight(t); n < 0 {
			return aws.ToString(t.TargetGroupArn)
		}
	}

	return aws.ToString(tgs[len(tgs)-1].TargetGroupArn)
}

// redirectLocation builds the Location of a redirect action as the ALB
// does: protocol://host:port/path?query, each part from the configuration
// with the placeholders #{protocol}, #{host}, #{port}, #{path} (the path
// without its leading "/") and #{query} (without "?") replaced by the
// request's. Missing parts default to the request's own. The port is always
// written, as the ALB writes it (https://host:443/...).
func redirectLocation(req *request, cfg *types.RedirectActionConfig) string {
	if cfg == nil {
		cfg = &types.RedirectActionConfig{}
	}
	part := func(v *string, def string) string {
		if s := aws.ToString(v); s != "" {
			return s
		}
		return def
	}
	r := strings.NewReplacer(
		"#{protocol}", req.scheme(),
		"#{host}", req.host,
		"#{port}", strconv.Itoa(int(req.listener.port)),
		"#{path}", strings.TrimPrefix(req.rawPath, "/"),
		"#{query}", req.rawQuery,
	)

	loc := strings.ToLower(r.Replace(part(cfg.Protocol, "#{protocol}"))) + "://" +
		r.Replace(part(cfg.Host, "#{host}")) + ":" + r.Replace(part(cfg.Port, "#{port}")) +
		r.Replace(part(cfg.Path, "/#{path}"))
	if q := r.Replace(part(cfg.Query, "#{query}")); q != "" {
		loc += "?" + q
	}

	return loc
}

// redirect answers a redirect action: 301 for HTTP_301, else 302.
func redirect(w http.ResponseWriter, req *request, cfg *types.RedirectActionConfig) {
	status := http.StatusFound
	if cfg != nil && cfg.StatusCode == types.RedirectActionStatusCodeEnumHttp301 {
		status = http.StatusMovedPermanently
	}
	w.Header().Set("Location", req.localizeLocation(redirectLocation(req, cfg)))
	w.Header().Set("Server", serverHeader)
	w.Header()["Content-Type"] = nil
	w.WriteHeader(status)
}

// fixedResponse answers a fixed-response action with its status, content
// type and body.
func fixedResponse(w http.ResponseWriter, cfg *types.FixedResponseActionConfig) {
	if cfg == nil {
		writeError(w, http.StatusInternalServerError)
		return
	}
	status, err := strconv.Atoi(aws.ToString(cfg.StatusCode))
	if err != nil || status < 200 || status > 599 {
		writeError(w, http.StatusInternalServerError)
		return
	}
	if ct := aws.ToString(cfg.ContentType); ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header()["Content-Type"] = nil
	}
	w.Header().Set("Server", serverHeader)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(aws.ToString(cfg.MessageBody)))
}
