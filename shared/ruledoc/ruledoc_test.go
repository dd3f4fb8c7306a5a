package ruledoc

import (
	"encoding/json"
	"testing"

	"github.com/autostop/autostop/shared/rule"
)

// TestProvisionedDecodesBothSpellings: the nested execution's result reads
// the same whether its fields are spelled as AWS does ("ExecutionArn",
// "Output") or as the local backend does ("executionArn", "output").
func TestProvisionedDecodesBothSpellings(t *testing.T) {
	const arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/1"
	for _, doc := range []string{
		`{"ExecutionArn":"arn:x","Status":"SUCCEEDED","Output":{"name":"web","domain":"d.example","results":{"loadBalancer":{"arn":"` + arn + `"}}},"Input":{"name":"web"}}`,
		`{"executionArn":"arn:x","status":"SUCCEEDED","output":{"name":"web","domain":"d.example","results":{"loadBalancer":{"arn":"` + arn + `"}}},"input":"{\"name\":\"web\"}"}`,
	} {
		var in AttachInput
		if err := json.Unmarshal([]byte(`{"detail":{},"execution":"evt-1","provisioned":`+doc+`}`), &in); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if in.Provisioned.LoadBalancerARN() != arn || in.Provisioned.ExecutionARN != "arn:x" || in.Provisioned.Output.Domain != "d.example" {
			t.Errorf("%s: read %+v", doc, in.Provisioned)
		}
		if RegionOf(in.Provisioned.LoadBalancerARN()) != "eu-west-1" {
			t.Errorf("region of %s: %q", arn, RegionOf(arn))
		}
	}
	var none *Provisioned
	if none.LoadBalancerARN() != "" || RegionOf("not-an-arn") != "" {
		t.Error("no provisioning must read as no ARN")
	}
}

func TestSameRule(t *testing.T) {
	a := rule.Rule{Name: "app", InstanceIDs: []string{"i-1"}, Port: 80, IdleMinutes: 5}.WithDefaults("d.example")
	b := a
	b.Tags = map[string]string{}
	if !SameRule(a, b) {
		t.Error("an empty and an absent tag map differ")
	}
	b.Port = 81
	if SameRule(a, b) {
		t.Error("rules of different ports are the same")
	}
}
