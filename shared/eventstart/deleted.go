package eventstart

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// RuleDeleted is the detail of an "AutoStopping Rule Deleted" event: which
// rule to detach. DeletedSchemaFile describes the same document; a test
// keeps both in agreement.
//
// The host alone names the rule: it is the rules table's key, and the item
// found there names everything autostop created for the rule (its load
// balancer, listener, target group and instances), so the event needs
// nothing else.
type RuleDeleted struct {
	// Host of the rule, as attached (e.g. "app.autostop.example.com"; case
	// and a trailing dot do not matter).
	Host string `json:"host"`
	// Name of the rule, optional: when given, DetachRule detaches the host's
	// rule only if it has this name, and fails with Conflict otherwise (a
	// guard against a mistyped host).
	Name string `json:"name,omitempty"`
}

var (
	hostRE     = regexp.MustCompile(spec.DomainPattern)
	ruleNameRE = regexp.MustCompile(rule.NamePattern)
)

// ParseDeletedDetail decodes a "AutoStopping Rule Deleted" detail strictly
// (unknown fields and trailing data rejected) and checks it; errors are
// steperr.InvalidRequest listing every problem. The host comes back
// normalized (rule.NormalizeHost).
func ParseDeletedDetail(data []byte) (RuleDeleted, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return RuleDeleted{}, steperr.Invalid("detail: required")
	}

	var d RuleDeleted
	if err := strictDecode(data, &d); err != nil {
		return RuleDeleted{}, steperr.Invalid("detail: %s", err.Error())
	}
	if p := d.Problems(); len(p) > 0 {
		return RuleDeleted{}, steperr.Invalid("detail: %s", strings.Join(p, "; "))
	}
	d.Host = rule.NormalizeHost(d.Host)

	return d, nil
}

// Problems returns every problem of the detail, each as "<field>: <reason>".
func (d RuleDeleted) Problems() []string {
	var p []string
	switch {
	case d.Host == "":
		p = append(p, "host: required")
	case strings.Contains(d.Host, "*") || len(d.Host) > rule.MaxHostLength || !hostRE.MatchString(d.Host):
		p = append(p, fmt.Sprintf("host: %q is not a host name", d.Host))
	}
	if d.Name != "" && !ruleNameRE.MatchString(d.Name) {
		p = append(p, fmt.Sprintf("name: %q is not a rule name (a DNS label)", d.Name))
	}

	return p
}
