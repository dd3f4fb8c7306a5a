package main

import (
	"reflect"
	"testing"

	"github.com/autostop/autostop/shared/app"
)

// TestTables: every table of the description, keyed as described, on
// demand, encrypted with the AWS managed key, point-in-time recovery on,
// kept on stack deletion, its name an output.
func TestTables(t *testing.T) {
	desc := app.Description()
	ids := ofType("AWS::DynamoDB::Table")
	if len(ids) != len(desc.Tables) {
		t.Fatalf("%d tables in the template, %d in the description", len(ids), len(desc.Tables))
	}
	for _, tb := range desc.Tables {
		r := resources[tableLogicalID(t, tb.ID)]
		p := props(r)
		wantKey := []any{map[string]any{"AttributeName": tb.PartitionKey, "KeyType": "HASH"}}
		if !reflect.DeepEqual(p["KeySchema"], wantKey) {
			t.Errorf("table %s: KeySchema %v, want %v", tb.ID, p["KeySchema"], wantKey)
		}
		if p["BillingMode"] != "PAY_PER_REQUEST" {
			t.Errorf("table %s: BillingMode %v", tb.ID, p["BillingMode"])
		}
		if sse, _ := p["SSESpecification"].(map[string]any); sse["SSEEnabled"] != true {
			t.Errorf("table %s: SSESpecification %v, want the AWS managed key", tb.ID, p["SSESpecification"])
		}
		if pitr, _ := p["PointInTimeRecoverySpecification"].(map[string]any); pitr["PointInTimeRecoveryEnabled"] != true {
			t.Errorf("table %s: PointInTimeRecoverySpecification %v", tb.ID, p["PointInTimeRecoverySpecification"])
		}
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("table %s: DeletionPolicy %v, UpdateReplacePolicy %v; want Retain", tb.ID, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
		outputs, _ := tmpl["Outputs"].(map[string]any)
		if _, ok := outputs[cfnID(tb.ID)+"TableName"]; !ok {
			t.Errorf("table %s: no output %sTableName", tb.ID, cfnID(tb.ID))
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// tableLogicalID finds a table of the description in the template by its
// autostop:component tag.
func tableLogicalID(t *testing.T, tableID string) string {
	t.Helper()
	for _, id := range ofType("AWS::DynamoDB::Table") {
		for _, tag := range asList(props(resources[id])["Tags"]) {
			if reflect.DeepEqual(tag, map[string]any{"Key": "autostop:component", "Value": tableID}) {
				return id
			}
		}
	}
	t.Fatalf("no table tagged autostop:component=%s", tableID)

	return ""
}
