package awsproxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func auth(service string) string {
	return "AWS4-HMAC-SHA256 Credential=test/20261129/us-east-1/" + service + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
		form   url.Values
		want   Operation
	}{
		{
			name: "JSON protocol", method: http.MethodPost, path: "/",
			header: map[string]string{"X-Amz-Target": "AWSStepFunctions.StartExecution", "Authorization": auth("states")},
			want:   Operation{Service: "states", Name: "StartExecution", Protocol: ProtocolJSON, Mutating: true},
		},
		{
			name: "Query protocol", method: http.MethodPost, path: "/",
			header: map[string]string{"Authorization": auth("elasticloadbalancing")},
			form:   url.Values{"Action": {"DescribeLoadBalancers"}},
			want:   Operation{Service: "elasticloadbalancing", Name: "DescribeLoadBalancers", Protocol: ProtocolQuery},
		},
		{
			name: "EC2 query", method: http.MethodPost, path: "/",
			header: map[string]string{"Authorization": auth("ec2")},
			form:   url.Values{"Action": {"CreateSecurityGroup"}},
			want:   Operation{Service: "ec2", Name: "CreateSecurityGroup", Protocol: ProtocolEC2Query, Mutating: true},
		},
		{
			name: "Lambda REST", method: http.MethodPost, path: "/2015-03-31/functions/autostop-proxy/versions",
			header: map[string]string{"Authorization": auth("lambda")},
			want:   Operation{Service: "lambda", Name: "PublishVersion", Protocol: ProtocolRESTJSON, Mutating: true},
		},
		{
			name: "Lambda invoke is not mutating", method: http.MethodPost, path: "/2015-03-31/functions/fn/invocations",
			header: map[string]string{"Authorization": auth("lambda")},
			want:   Operation{Service: "lambda", Name: "Invoke", Protocol: ProtocolRESTJSON},
		},
		{
			name: "Route 53 REST XML", method: http.MethodPost, path: "/2013-04-01/hostedzone/Z123/rrset/",
			header: map[string]string{"Authorization": auth("route53")},
			want:   Operation{Service: "route53", Name: "ChangeResourceRecordSets", Protocol: ProtocolRESTXML, Mutating: true},
		},
		{
			name: "unknown REST path is named by method and path", method: http.MethodGet, path: "/2013-04-01/healthcheck",
			header: map[string]string{"Authorization": auth("route53")},
			want:   Operation{Service: "route53", Name: "GET /2013-04-01/healthcheck", Protocol: ProtocolRESTXML},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if got := Identify(r, tt.form); got != tt.want {
				t.Errorf("Identify = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSigningName(t *testing.T) {
	tests := map[string]string{
		auth("acm"):                         "acm",
		"":                                  "",
		"Bearer x":                          "",
		"AWS4-HMAC-SHA256 Credential=a/b/c": "",
	}
	for in, want := range tests {
		if got := SigningName(in); got != want {
			t.Errorf("SigningName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFaultEncodingPerProtocol(t *testing.T) {
	tests := []struct {
		protocol Protocol
		contains []string
	}{
		{ProtocolJSON, []string{`"__type":"Throttling"`, `"message":"Rate exceeded"`}},
		{ProtocolRESTJSON, []string{`"__type":"Throttling"`}},
		{ProtocolQuery, []string{"<ErrorResponse>", "<Code>Throttling</Code>", "<Type>Sender</Type>"}},
		{ProtocolRESTXML, []string{"<ErrorResponse>", "<Code>Throttling</Code>"}},
		{ProtocolEC2Query, []string{"<Response><Errors><Error><Code>Throttling</Code>"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.protocol), func(t *testing.T) {
			w := httptest.NewRecorder()
			Throttled.write(w, Operation{Protocol: tt.protocol, RequestID: "r-1"})
			if w.Code != http.StatusBadRequest {
				t.Errorf("status %d", w.Code)
			}
			for _, s := range tt.contains {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %q lacks %q", w.Body.String(), s)
				}
			}
		})
	}
}

func TestIsMutating(t *testing.T) {
	for name, want := range map[string]bool{
		"CreateLoadBalancer": true, "DeleteRule": true, "ModifyListener": true, "AddTags": true, "UpsertX": true,
		"DescribeTags": false, "ListAliases": false, "GetChange": false, "Invoke": false, "ValidateStateMachineDefinition": false,
	} {
		if got := IsMutating(name); got != want {
			t.Errorf("IsMutating(%s) = %v", name, got)
		}
	}
}
