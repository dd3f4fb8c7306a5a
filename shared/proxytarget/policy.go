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

// findStatement returns the statement sid of the alias's policy, or nil
// when the alias has no policy or the policy lacks it.
func findStatement(ctx context.Context, l Lambda, function, sid string) (*statement, error) {
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
	for i := range stmts {
		if stmts[i].Sid == sid {
			return &stmts[i], nil
		}
	}

	return nil, nil
}

// grants reports whether s lets the load balancer's target group
// tgARN invoke the function.
func (s *statement) grants(tgARN string) bool {
	if s == nil || s.Effect != "Allow" {
		return false
	}
	var principal map[string]json.RawMessage
	if err := json.Unmarshal(s.Principal, &principal); err != nil || !contains(principal["Service"], ELBPrincipal) {
		return false
	}
	if !contains(s.Action, InvokeAction) {
		return false
	}

	return s.sourceARN() == tgARN
}

// sourceARN returns the statement's AWS:SourceArn condition value, "" when
// it has none (or several).
func (s *statement) sourceARN() string {
	for op, kv := range s.Condition {
		if op != "ArnLike" && op != "ArnEquals" && op != "StringEquals" && op != "StringLike" {
			continue
		}
		for k, v := range kv {
			if strings.EqualFold(k, "aws:SourceArn") {
				if vals := stringsOf(v); len(vals) == 1 {
					return vals[0]
				}
			}
		}
	}

	return ""
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
