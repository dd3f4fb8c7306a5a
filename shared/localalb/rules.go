package localalb

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Condition fields of listener rules.
const (
	fieldHostHeader  = "host-header"
	fieldPathPattern = "path-pattern"
	fieldHTTPHeader  = "http-header"
	fieldMethod      = "http-request-method"
	fieldQueryString = "query-string"
	fieldSourceIP    = "source-ip"
)

// rule is a listener rule ready to evaluate.
type rule struct {
	arn string
	// priority orders the rules, lowest first; the default rule has
	// math.MaxInt.
	priority  int
	isDefault bool
	// conditions must all match.
	conditions []condition
	// action is the rule's terminal action (forward, redirect or fixed
	// response); nil when it has none.
	action *types.Action
}

// condition reports whether a request matches one rule condition.
type condition func(req *request) bool

// never is the condition of a rule that cannot be evaluated.
func never(*request) bool { return false }

// compileRules turns the listener's rules into evaluable ones sorted by
// priority, the default rule last. When the backend lists no default rule,
// the listener's default actions make one. A condition that cannot be
// evaluated (unknown field, bad regex or CIDR) is logged and never matches,
// so its rule is skipped.
func compileRules(in []types.Rule, defaultActions []types.Action, log *slog.Logger) []*rule {
	out := make([]*rule, 0, len(in)+1)
	hasDefault := false
	for _, r := range in {
		cr := &rule{arn: aws.ToString(r.RuleArn), isDefault: aws.ToBool(r.IsDefault) || aws.ToString(r.Priority) == "default"}
		if cr.isDefault {
			cr.priority, hasDefault = math.MaxInt, true
		} else {
			p, err := strconv.Atoi(aws.ToString(r.Priority))
			if err != nil {
				log.Warn("rule with an invalid priority skipped", "rule", cr.arn, "priority", aws.ToString(r.Priority))
				continue
			}
			cr.priority = p
		}
		for _, c := range r.Conditions {
			m, err := compileCondition(c)
			if err != nil {
				log.Warn("rule condition cannot be evaluated: the rule never matches", "rule", cr.arn, "error", err)
				m = never
			}
			cr.conditions = append(cr.conditions, m)
		}
		if len(r.Transforms) > 0 {
			log.Warn("rule transforms are not applied locally", "rule", cr.arn)
		}
		cr.action = terminalAction(r.Actions)
		out = append(out, cr)
	}
	if !hasDefault && len(defaultActions) > 0 {
		out = append(out, &rule{arn: "default", priority: math.MaxInt, isDefault: true, action: terminalAction(defaultActions)})
	}
	slices.SortStableFunc(out, func(a, b *rule) int {
		switch {
		case a.priority < b.priority:
			return -1
		case a.priority > b.priority:
			return 1
		default:
			return 0
		}
	})

	return out
}

// match returns the first rule, by priority, whose conditions all match.
func (s *snapshot) match(req *request) *rule {
	for _, r := range s.rules {
		if r.matches(req) {
			return r
		}
	}

	return nil
}

func (r *rule) matches(req *request) bool {
	for _, c := range r.conditions {
		if !c(req) {
			return false
		}
	}

	return true
}

// compileCondition builds the matcher of one condition. Within a condition
// any value may match; values come from the field's *Config, or the legacy
// Values for host-header and path-pattern.
func compileCondition(c types.RuleCondition) (condition, error) {
	field := aws.ToString(c.Field)
	switch field {
	case fieldHostHeader:
		var values, regexes []string
		if cfg := c.HostHeaderConfig; cfg != nil {
			values, regexes = cfg.Values, cfg.RegexValues
		}
		if len(values) == 0 && len(regexes) == 0 {
			values = c.Values
		}
		m, err := anyOf(values, regexes, true)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return func(req *request) bool { return m(req.host) }, nil

	case fieldPathPattern:
		var values, regexes []string
		if cfg := c.PathPatternConfig; cfg != nil {
			values, regexes = cfg.Values, cfg.RegexValues
		}
		if len(values) == 0 && len(regexes) == 0 {
			values = c.Values
		}
		m, err := anyOf(values, regexes, false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return func(req *request) bool { return m(req.path) }, nil

	case fieldHTTPHeader:
		cfg := c.HttpHeaderConfig
		if cfg == nil || aws.ToString(cfg.HttpHeaderName) == "" {
			return nil, fmt.Errorf("%s: no header name", field)
		}
		name := aws.ToString(cfg.HttpHeaderName)
		m, err := anyOf(cfg.Values, cfg.RegexValues, true)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", field, name, err)
		}
		return func(req *request) bool {
			return slices.ContainsFunc(req.r.Header.Values(name), m)
		}, nil

	case fieldMethod:
		if c.HttpRequestMethodConfig == nil {
			return nil, fmt.Errorf("%s: no values", field)
		}
		methods := c.HttpRequestMethodConfig.Values
		return func(req *request) bool { return slices.Contains(methods, req.r.Method) }, nil

	case fieldQueryString:
		if c.QueryStringConfig == nil || len(c.QueryStringConfig.Values) == 0 {
			return nil, fmt.Errorf("%s: no key/value pairs", field)
		}
		pairs := c.QueryStringConfig.Values
		return func(req *request) bool { return queryMatches(pairs, req.rawQuery) }, nil

	case fieldSourceIP:
		if c.SourceIpConfig == nil {
			return nil, fmt.Errorf("%s: no values", field)
		}
		var nets []*net.IPNet
		for _, v := range c.SourceIpConfig.Values {
			_, n, err := net.ParseCIDR(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", field, v, err)
			}
			nets = append(nets, n)
		}
		return func(req *request) bool {
			ip := net.ParseIP(req.clientIP)
			return ip != nil && slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.Contains(ip) })
		}, nil

	default:
		return nil, fmt.Errorf("unsupported condition field %q", field)
	}
}

// anyOf matches a string against ALB wildcard patterns (* and ?) and
// regular expressions; foldCase makes the patterns case-insensitive.
func anyOf(patterns, regexes []string, foldCase bool) (func(string) bool, error) {
	res := make([]*regexp.Regexp, 0, len(regexes))
	for _, r := range regexes {
		if foldCase {
			r = "(?i)" + r
		}
		re, err := regexp.Compile(r)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", r, err)
		}
		res = append(res, re)
	}
	if len(patterns) == 0 && len(res) == 0 {
		return nil, fmt.Errorf("no values")
	}

	return func(s string) bool {
		for _, p := range patterns {
			if wildcardMatch(p, s, foldCase) {
				return true
			}
		}
		for _, re := range res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}, nil
}

// wildcardMatch reports whether s matches pattern as the ALB compares
// condition values: '*' matches any run of characters (also none), '?'
// exactly one, anything else itself.
func wildcardMatch(pattern, s string, foldCase bool) bool {
	if foldCase {
		pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	}
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			// Let the last star swallow one more character.
			pi, mark = star+1, mark+1
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}

	return pi == len(p)
}

// queryMatches reports whether any key/value pair matches the query: a pair
// with a key needs a parameter of that key (case-insensitive) whose value
// matches; a pair without one needs any parameter with a matching value.
// Values may use wildcards and are compared case-insensitively, decoded.
func queryMatches(pairs []types.QueryStringKeyValuePair, rawQuery string) bool {
	q, err := url.ParseQuery(rawQuery)
	if err != nil && len(q) == 0 {
		return false
	}
	for _, pair := range pairs {
		key, want := aws.ToString(pair.Key), aws.ToString(pair.Value)
		for k, vs := range q {
			if key != "" && !strings.EqualFold(k, key) {
				continue
			}
			for _, v := range vs {
				if wildcardMatch(want, v, true) {
					return true
				}
			}
		}
	}

	return false
}
