package main

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// stepStatements are the statements of function id's step policy in a
// synthesized template (rs: resources or vpcResources).
func stepStatements(t *testing.T, rs map[string]map[string]any, id string) []map[string]any {
	t.Helper()
	var out []map[string]any
	n := 0
	for _, r := range rs {
		if r["Type"] != "AWS::IAM::Policy" || props(r)["PolicyName"] != StepPolicyName(id) {
			continue
		}
		n++
		for _, st := range props(r)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	if n != 1 {
		t.Fatalf("%d policies %s, want 1", n, StepPolicyName(id))
	}

	return out
}

// withAction are the statements holding action.
func withAction(sts []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, st := range sts {
		if slices.Contains(actionsOf(st), action) {
			out = append(out, st)
		}
	}

	return out
}

// condition is a statement's condition value for operator and key, as a
// sorted list of strings (IAM takes one value or a list), nil when absent.
func condition(st map[string]any, op, key string) []string {
	c, _ := st["Condition"].(map[string]any)
	m, _ := c[op].(map[string]any)
	switch v := m[key].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i], _ = x.(string)
		}
		sort.Strings(out)
		return out
	}

	return nil
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)

	return out
}

// TestELBServiceLinkedRole: exactly the functions that create a load
// balancer or a target group may create Elastic Load Balancing's
// service-linked role, that role only, for that service only.
func TestELBServiceLinkedRole(t *testing.T) {
	wantRole := map[string]any{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), ":iam::", ref("AWS::AccountId"),
		":role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing"}}}
	var got []string
	for _, f := range app.Description().Functions {
		sts := stepStatements(t, resources, f.ID)
		creates := len(withAction(sts, "elasticloadbalancing:CreateLoadBalancer"))+len(withAction(sts, "elasticloadbalancing:CreateTargetGroup")) > 0
		slr := withAction(sts, "iam:CreateServiceLinkedRole")
		if len(slr) > 0 {
			got = append(got, f.ID)
		}
		if creates != (len(slr) == 1) {
			t.Errorf("%s: creates an ALB or target group: %v; iam:CreateServiceLinkedRole statements: %d", f.ID, creates, len(slr))
		}
		for _, st := range slr {
			if !reflect.DeepEqual(actionsOf(st), []string{"iam:CreateServiceLinkedRole"}) || !reflect.DeepEqual(st["Resource"], wantRole) ||
				!reflect.DeepEqual(st["Condition"], map[string]any{"StringEquals": map[string]any{"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}}) {
				t.Errorf("%s: %v, want iam:CreateServiceLinkedRole on %v if iam:AWSServiceName is elasticloadbalancing.amazonaws.com", f.ID, st, wantRole)
			}
		}
	}
	sort.Strings(got)
	if want := sorted("ensure-load-balancer", "ensure-proxy-target", "attach-ensure-target"); !reflect.DeepEqual(got, want) {
		t.Errorf("functions allowed to create the service-linked role: %v, want %v", got, want)
	}
}

// TestInvokePermissionsForELBOnly: lambda:AddPermission and
// RemovePermission only for Elastic Load Balancing, in their own
// statements, and only in the steps that manage the proxy's target group.
func TestInvokePermissionsForELBOnly(t *testing.T) {
	var got []string
	for _, f := range app.Description().Functions {
		sts := append(withAction(stepStatements(t, resources, f.ID), "lambda:AddPermission"),
			withAction(stepStatements(t, resources, f.ID), "lambda:RemovePermission")...)
		if len(sts) > 0 {
			got = append(got, f.ID)
		}
		for _, st := range sts {
			for _, a := range actionsOf(st) {
				if a != "lambda:AddPermission" && a != "lambda:RemovePermission" {
					t.Errorf("%s: %s in the statement of the Add/RemovePermission condition", f.ID, a)
				}
			}
			if !reflect.DeepEqual(st["Condition"], map[string]any{"StringEquals": map[string]any{"lambda:Principal": "elasticloadbalancing.amazonaws.com"}}) {
				t.Errorf("%s: %v, want lambda:Principal = elasticloadbalancing.amazonaws.com", f.ID, st["Condition"])
			}
			res, _ := json.Marshal(st["Resource"])
			if !strings.Contains(string(res), ":function:"+app.NamePrefix+"proxy") {
				t.Errorf("%s: on %s, want the proxy function", f.ID, res)
			}
		}
	}
	sort.Strings(got)
	if want := sorted("delete-target-groups", "ensure-proxy-target", "rollback"); !reflect.DeepEqual(slices.Compact(got), want) {
		t.Errorf("functions that may change the proxy's resource policy: %v, want %v", got, want)
	}
}

// deleteWithoutTags are the Delete* actions of the step policies that need
// no autostop tags on the resource, and why.
var deleteWithoutTags = map[string]string{
	"dynamodb:DeleteItem": "an item of the rules table (the only resource)",
	"ec2:DeleteTags":      "the customer's instances, which carry no autostop:managed-by: only the autostop:rule tag, only where set",
}

// TestDeletesRequireBothTags: every delete of a resource autostop creates
// needs both autostop:load-balancer (any value) and
// autostop:managed-by=autostop on it, the tags every create call carries.
func TestDeletesRequireBothTags(t *testing.T) {
	covered := map[string]bool{}
	for _, f := range app.Description().Functions {
		for _, st := range stepStatements(t, resources, f.ID) {
			for _, a := range actionsOf(st) {
				if _, op, _ := strings.Cut(a, ":"); !strings.HasPrefix(op, "Delete") || deleteWithoutTags[a] != "" {
					continue
				}
				covered[a] = true
				if !reflect.DeepEqual(condition(st, "Null", "aws:ResourceTag/"+ownership.LoadBalancerKey), []string{"false"}) ||
					!reflect.DeepEqual(condition(st, "StringEquals", "aws:ResourceTag/"+ownership.ManagedByKey), []string{ownership.ManagedByValue}) {
					t.Errorf("%s: %s with condition %v, want aws:ResourceTag/%s present and aws:ResourceTag/%s = %s",
						f.ID, a, st["Condition"], ownership.LoadBalancerKey, ownership.ManagedByKey, ownership.ManagedByValue)
				}
			}
		}
	}
	for _, a := range []string{"elasticloadbalancing:DeleteLoadBalancer", "elasticloadbalancing:DeleteTargetGroup",
		"elasticloadbalancing:DeleteListener", "elasticloadbalancing:DeleteRule", "ec2:DeleteSecurityGroup", "acm:DeleteCertificate"} {
		if !covered[a] {
			t.Errorf("no step deletes with %s: update this test", a)
		}
	}
}

// TestRequestCertificateDNSOnly: certificates only with DNS validation,
// and with the autostop tag in the request.
func TestRequestCertificateDNSOnly(t *testing.T) {
	sts := withAction(stepStatements(t, resources, "ensure-certificate"), "acm:RequestCertificate")
	if len(sts) != 1 {
		t.Fatalf("%d statements with acm:RequestCertificate, want 1", len(sts))
	}
	want := map[string]any{
		"StringEquals": map[string]any{"acm:ValidationMethod": "DNS"},
		"Null":         map[string]any{"aws:RequestTag/" + ownership.LoadBalancerKey: "false"},
	}
	if !reflect.DeepEqual(sts[0]["Condition"], want) {
		t.Errorf("condition %v, want %v", sts[0]["Condition"], want)
	}
}

// recordTypes is what each step writes to or deletes from Route 53 (a
// decision, read from shared/dns and shared/certificate); the actions are
// read from the code.
var recordTypesOf = map[string][]string{
	"ensure-dns":         {"A", "AAAA", "TXT"}, // the wildcard alias (AAAA: dualstack) and its ownership record
	"ensure-certificate": {"CNAME"},            // the ACM validation records
	"rollback":           {"A", "AAAA", "CNAME", "TXT"},
	// DeleteLoadBalancer: the wildcard records, then the validation
	// records of the certificates it deletes.
	"delete-dns":          {"A", "AAAA", "TXT"},
	"delete-certificates": {"CNAME"},
}

// TestRecordChanges: the steps that change Route 53 records may only use
// the change actions their code names (r53types.ChangeAction*) on their
// record types; with the dnsDomain context, only on names below it.
func TestRecordChanges(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	actionNames := map[string]string{"ChangeActionCreate": "CREATE", "ChangeActionUpsert": "UPSERT", "ChangeActionDelete": "DELETE"}
	typeNames := map[string]string{"RRTypeA": "A", "RRTypeAaaa": "AAAA", "RRTypeCname": "CNAME", "RRTypeTxt": "TXT"}
	var changers []string
	for _, f := range app.Description().Functions {
		if !slices.Contains(Actions(f.ID), "route53:ChangeResourceRecordSets") {
			continue
		}
		changers = append(changers, f.ID)
		t.Run(f.ID, func(t *testing.T) {
			_, _, refs := sdkCalls(t, functionPackages(t, root, f.ID), "github.com/autostop/autostop/functions/"+f.ID)
			var codeActions []string
			for name, v := range actionNames {
				if refs["route53/types."+name] {
					codeActions = append(codeActions, v)
				}
			}
			sort.Strings(codeActions)
			codeTypes := map[string]bool{}
			for name, v := range typeNames {
				codeTypes[v] = refs["route53/types."+name]
			}
			for _, typ := range recordTypesOf[f.ID] {
				if !codeTypes[typ] {
					t.Errorf("record type %s is allowed but the code never names it", typ)
				}
			}

			sts := withAction(stepStatements(t, resources, f.ID), "route53:ChangeResourceRecordSets")
			if len(sts) != 1 || len(actionsOf(sts[0])) != 1 {
				t.Fatalf("statements %v, want one with route53:ChangeResourceRecordSets only", sts)
			}
			st := sts[0]
			if got := condition(st, "ForAllValues:StringEquals", "route53:ChangeResourceRecordSetsActions"); !reflect.DeepEqual(got, codeActions) {
				t.Errorf("ChangeResourceRecordSetsActions %v, want those the code uses: %v", got, codeActions)
			}
			if got, want := condition(st, "ForAllValues:StringEquals", "route53:ChangeResourceRecordSetsRecordTypes"), sorted(recordTypesOf[f.ID]...); !reflect.DeepEqual(got, want) {
				t.Errorf("ChangeResourceRecordSetsRecordTypes %v, want %v", got, want)
			}
			if c, _ := st["Condition"].(map[string]any); c["ForAllValues:StringLike"] != nil {
				t.Errorf("record names limited without the %s context: %v", ContextDNSDomain, c)
			}

			// With the context: names below the domain, normalized.
			vsts := withAction(stepStatements(t, vpcResources, f.ID), "route53:ChangeResourceRecordSets")
			if len(vsts) != 1 {
				t.Fatalf("%d statements with route53:ChangeResourceRecordSets in the stack with context", len(vsts))
			}
			if got, want := condition(vsts[0], "ForAllValues:StringLike", "route53:ChangeResourceRecordSetsNormalizedRecordNames"), []string{"*.example.com"}; !reflect.DeepEqual(got, want) {
				t.Errorf("with %s=%q: record names %v, want %v", ContextDNSDomain, testDNSDomain, got, want)
			}
			if got := condition(vsts[0], "ForAllValues:StringEquals", "route53:ChangeResourceRecordSetsActions"); !reflect.DeepEqual(got, codeActions) {
				t.Errorf("with context: ChangeResourceRecordSetsActions %v, want %v", got, codeActions)
			}
		})
	}
	sort.Strings(changers)
	var want []string
	for id := range recordTypesOf {
		want = append(want, id)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(changers, want) {
		t.Errorf("functions that change records: %v; recordTypesOf has %v", changers, want)
	}
}

func TestReadDNSDomain(t *testing.T) {
	for in, want := range map[string]string{"": "", "  ": "", "Example.COM.": "example.com", "autostop.example.com": "autostop.example.com",
		"internal": "internal", "_x.example.com": "_x.example.com"} {
		if got, err := readDNSDomain(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"*.example.com", "example..com", "-a.example.com", "a b.com", "ex*ample.com", strings.Repeat("a", 64) + ".com"} {
		if got, err := readDNSDomain(in); err == nil {
			t.Errorf("%q: %q, want an error", in, got)
		}
	}
}
