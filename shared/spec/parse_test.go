package spec

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const base = `"name":"a","vpcId":"vpc-1","domain":"a.b","dns":{"provider":"other"}`
	tests := []struct {
		name string
		doc  string
		want string // "" ok, else a substring of the error
	}{
		{"valid", `{` + base + `}`, ""},
		{"valid with certificate and tags", `{` + base + `,"certificate":{"issue":true},"tags":{"Team":"x","team":"y"}}`, ""},
		{"unknown field", `{` + base + `,"subnet_ids":["subnet-1"]}`, `unknown field "subnet_ids"`},
		{"unknown nested field", `{"name":"a","vpcId":"vpc-1","domain":"a.b","dns":{"provider":"other","zoneId":"Z1"}}`, `unknown field "zoneId"`},
		{"field in other case", `{"name":"a","vpcid":"vpc-1","domain":"a.b","dns":{"provider":"other"}}`, `"vpcid"`},
		{"nested field in other case", `{"name":"a","vpcId":"vpc-1","domain":"a.b","dns":{"Provider":"other"}}`, `dns.Provider`},
		{"certificate field in other case", `{` + base + `,"certificate":{"ARN":"x"}}`, `certificate.ARN`},
		{"trailing data", `{` + base + `} {}`, "unexpected data"},
		{"wrong type", `{"name":["a"]}`, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error containing %s", err, tc.want)
			}
		})
	}
}
