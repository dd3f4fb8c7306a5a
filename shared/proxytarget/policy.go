package proxytarget

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/steperr"
)

// statement is one statement of a Lambda resource policy, as GetPolicy
// returns it. Principal, Action and condition values may each be a string
// or a list of strings.
type statement struct {
	Sid       string                                `json:"Sid"`
	Effect    string                                `json:"Effect"`
	Principal json.RawMessage                       `json:"Principal"`
	Action    json.RawMessage                       `json:"Action"`
	Resource  json.RawMessage                       `json:"Resource"`
	Condition map[string]map[string]json.RawMessage `json:"Condition"`
}

// policy is the alias's resource policy: its statements, none when the
// alias has no policy.
type policy []statement

// readPolicy reads the alias's resource policy.
func readPolicy(ctx context.Context, l Lambda, function string) (policy, error) {
	out, err := l.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(function), Qualifier: aws.String(AliasName)})
	if steperr.HasCode(err, codeLambdaNotFound) {
		return nil, nil // no policy at all
	}
	if err != nil {
		return nil, fmt.Errorf("get policy of %s:%s: %w", function, AliasName, err)
	}

	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		return nil, fmt.Errorf("parse policy of %s:%s: %w", function, AliasName, err)
	}
	var stmts []statement
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		// A policy may hold a single statement object.
		var one statement
		if err2 := json.Unmarshal(doc.Statement, &one); err2 != nil {
			return nil, fmt.Errorf("parse policy statements of %s:%s: %w", function, AliasName, err)
		}
		stmts = []statement{one}
	}

	return stmts, nil
}

// find returns statement sid, nil when the policy lacks it.
func (p policy) find(sid string) *statement {
	for i := range p {
		if p[i].Sid == sid {
			return &p[i]
		}
	}

	return nil
}

// findStatement returns the statement sid of the alias's policy, or nil
// when the alias has no policy or the policy lacks it.
func findStatement(ctx context.Context, l Lambda, function, sid string) (*statement, error) {
	p, err := readPolicy(ctx, l, function)
	if err != nil {
		return nil, err
	}

	return p.find(sid), nil
}

// isShared reports whether s is the shared statement as AddPermission
// writes it for pattern and account: Allow, Elastic Load Balancing's
// service principal, lambda:InvokeFunction, and exactly two conditions,
// AWS:SourceArn like pattern and AWS:SourceAccount equal to account. A
// statement that grants more (no SourceAccount, a wider pattern) or
// something else is not: Ensure replaces it.
func (s *statement) isShared(pattern, account string) bool {
	if s == nil || s.Effect != "Allow" {
		return false
	}
	var principal map[string]json.RawMessage
	if err := json.Unmarshal(s.Principal, &principal); err != nil || len(principal) != 1 || !contains(principal["Service"], ELBPrincipal) {
		return false
	}
	if a := stringsOf(s.Action); len(a) != 1 || a[0] != InvokeAction {
		return false
	}
	want := map[string]string{"ArnLike aws:sourcearn": pattern, "StringEquals aws:sourceaccount": account}
	got := map[string]string{}
	for op, kv := range s.Condition {
		for k, v := range kv {
			vals := stringsOf(v)
			if len(vals) != 1 {
				return false
			}
			got[op+" "+strings.ToLower(k)] = vals[0]
		}
	}
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}

	return true
}

// resourceOr returns the ARN the statement is on (its Resource: the
// alias's), def when it names none or several.
func (s *statement) resourceOr(def string) string {
	if r := stringsOf(s.Resource); len(r) == 1 && r[0] != "" {
		return r[0]
	}

	return def
}

// stringsOf reads a JSON string or list of strings.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		return many
	}

	return nil
}

func contains(raw json.RawMessage, want string) bool {
	for _, v := range stringsOf(raw) {
		if v == want {
			return true
		}
	}

	return false
}
