package proxypage

import (
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestRequestURI(t *testing.T) {
	tests := []struct {
		name string
		req  events.ALBTargetGroupRequest
		want string
	}{
		{"path only", events.ALBTargetGroupRequest{Path: "/v1/orders"}, "/v1/orders"},
		{"empty path", events.ALBTargetGroupRequest{}, "/"},
		{"single-value query, sorted", events.ALBTargetGroupRequest{Path: "/search", QueryStringParameters: map[string]string{"q": "shoes", "page": "2"}}, "/search?page=2&q=shoes"},
		{"multi-value query keeps repeats", events.ALBTargetGroupRequest{Path: "/", MultiValueQueryStringParameters: map[string][]string{"tag": {"b", "a"}, "id": {"7"}}}, "/?id=7&tag=b&tag=a"},
		{"multi-value wins over single-value", events.ALBTargetGroupRequest{Path: "/", QueryStringParameters: map[string]string{"x": "1"}, MultiValueQueryStringParameters: map[string][]string{"y": {"2"}}}, "/?y=2"},
		{"encoded values stay encoded once", events.ALBTargetGroupRequest{Path: "/a%20b", QueryStringParameters: map[string]string{"next": "%2Fhome%3Fx%3D1", "q": "a+b"}}, "/a%20b?next=%2Fhome%3Fx%3D1&q=a+b"},
		{"raw bytes get encoded", events.ALBTargetGroupRequest{Path: "/caf\u00e9 menu", QueryStringParameters: map[string]string{"q": "50% off #1", "k y": "a&b"}}, "/caf%C3%A9%20menu?k%20y=a%26b&q=50%25%20off%20%231"},
		{"markup in the path", events.ALBTargetGroupRequest{Path: "/<script>\"x\"</script>"}, "/%3Cscript%3E%22x%22%3C/script%3E"},
		{"key with =", events.ALBTargetGroupRequest{Path: "/", QueryStringParameters: map[string]string{"a=b": "c=d"}}, "/?a%3Db=c=d"},
		{"flag without value", events.ALBTargetGroupRequest{Path: "/", QueryStringParameters: map[string]string{"debug": ""}}, "/?debug="},
		{"scheme-relative path stays on the host", events.ALBTargetGroupRequest{Path: "//evil.example/x"}, "/.//evil.example/x"},
		{"backslash cannot turn into //", events.ALBTargetGroupRequest{Path: "/\\evil.example"}, "/%5Cevil.example"},
		{"path without slash", events.ALBTargetGroupRequest{Path: "x"}, "/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RequestURI(tt.req)
			if got != tt.want {
				t.Errorf("RequestURI = %q, want %q", got, tt.want)
			}
			u, err := url.Parse(got)
			if err != nil || u.Host != "" || u.Scheme != "" {
				t.Errorf("%q is not a same-host reference: %+v %v", got, u, err)
			}
		})
	}
}

func TestRedirect(t *testing.T) {
	tests := []struct {
		name string
		req  events.ALBTargetGroupRequest
	}{
		{"single-value", events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/v1/orders", QueryStringParameters: map[string]string{"dry": "1"}, Headers: map[string]string{"host": "api.example.test"}}},
		{"multi-value", events.ALBTargetGroupRequest{HTTPMethod: "POST", Path: "/v1/orders", MultiValueQueryStringParameters: map[string][]string{"dry": {"1"}}, MultiValueHeaders: map[string][]string{"host": {"api.example.test"}}}},
		{"HEAD", events.ALBTargetGroupRequest{HTTPMethod: "HEAD", Path: "/v1/orders", QueryStringParameters: map[string]string{"dry": "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := Redirect(tt.req)
			if resp.StatusCode != 307 || resp.StatusDescription != "307 Temporary Redirect" {
				t.Errorf("status %d %q", resp.StatusCode, resp.StatusDescription)
			}
			if (tt.req.MultiValueHeaders != nil) != (resp.MultiValueHeaders != nil) {
				t.Errorf("header maps do not follow the request's: %+v", resp)
			}
			for name, want := range map[string]string{"location": "/v1/orders?dry=1", "cache-control": "no-store", "x-autostop": "redirect"} {
				if got := respHeader(t, resp, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if (tt.req.HTTPMethod == "HEAD") != (resp.Body == "") {
				t.Errorf("body %q for %s", resp.Body, tt.req.HTTPMethod)
			}
		})
	}
}
