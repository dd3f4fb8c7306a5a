package proxypage

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Accept headers as real clients send them.
const (
	acceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	acceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptSafari  = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptCurl    = "*/*"
	acceptFetch   = "*/*" // fetch()'s default, the progress page's polls included
)

func TestClassify(t *testing.T) {
	get := func(accept string) events.ALBTargetGroupRequest {
		return events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"accept": accept}}
	}
	tests := []struct {
		name string
		req  events.ALBTargetGroupRequest
		want Kind
	}{
		{"chrome navigation", get(acceptChrome), KindBrowser},
		{"firefox navigation", get(acceptFirefox), KindBrowser},
		{"safari navigation", get(acceptSafari), KindBrowser},
		{"curl", get(acceptCurl), KindAPI},
		{"application/json", get("application/json"), KindAPI},
		{"json with text/html refused", get("application/json, text/html;q=0"), KindAPI},
		{"q=0.000 refuses", get("text/html;q=0.000"), KindAPI},
		{"low but non-zero q", get("application/json, text/html;q=0.1"), KindBrowser},
		{"upper case and spaces", get(" TEXT/HTML ; Q=0.5 , */*"), KindBrowser},
		{"html with other params", get("text/html;level=1;q=0.7"), KindBrowser},
		{"quoted comma in a parameter", get(`application/json;x="a,text/html", */*`), KindAPI},
		{"invalid q skipped", get("text/html;q=2"), KindAPI},
		{"text/* is a wildcard", get("text/*"), KindAPI},
		{"missing Accept", events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"host": "x"}}, KindAPI},
		{"HEAD navigation", events.ALBTargetGroupRequest{HTTPMethod: "HEAD", Headers: map[string]string{"accept": acceptFirefox}}, KindBrowser},
		{"POST with html accept", events.ALBTargetGroupRequest{HTTPMethod: "POST", Headers: map[string]string{"accept": acceptChrome}}, KindAPI},
		{"PUT with html accept", events.ALBTargetGroupRequest{HTTPMethod: "PUT", Headers: map[string]string{"accept": "text/html"}}, KindAPI},
		{"multi-value Accept lines", events.ALBTargetGroupRequest{HTTPMethod: "GET", MultiValueHeaders: map[string][]string{"accept": {"application/json", "text/html"}}}, KindBrowser},
		{"multi-value curl", events.ALBTargetGroupRequest{HTTPMethod: "GET", MultiValueHeaders: map[string][]string{"accept": {"*/*"}}}, KindAPI},
		{"header name not lower-cased", events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"Accept": "text/html"}}, KindBrowser},
		{"progress page poll", events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"accept": acceptFetch, "x-autostop-poll": "1"}}, KindPoll},
		{"poll, multi-value", events.ALBTargetGroupRequest{HTTPMethod: "GET", MultiValueHeaders: map[string][]string{"accept": {acceptFetch}, "x-autostop-poll": {"1"}}}, KindPoll},
		{"poll header with html accept", events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"accept": acceptChrome, "x-autostop-poll": "1"}}, KindPoll},
		{"POST with poll header", events.ALBTargetGroupRequest{HTTPMethod: "POST", Headers: map[string]string{"x-autostop-poll": "1"}}, KindAPI},
		{"poll header not 1", events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"x-autostop-poll": "true"}}, KindAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.req); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
			if got := IsPoll(tt.req); got != (tt.want == KindPoll) {
				t.Errorf("IsPoll = %v", got)
			}
		})
	}
}

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		name, accept, contentType string
		want                      bool
	}{
		{"curl", acceptCurl, "", false},
		{"no Accept", "", "", false},
		{"application/json", "application/json", "", true},
		{"problem+json", "application/problem+json", "", true},
		{"json refused", "application/json;q=0", "application/json", false},
		{"json below text/plain", "text/plain, application/json;q=0.5", "", false},
		{"json above the wildcard", "application/json, */*;q=0.8", "", true},
		{"json tied with text/plain", "text/plain, application/json", "", true},
		{"json below text/*", "text/*, application/json;q=0.5", "", false},
		{"curl sending JSON", acceptCurl, "application/json; charset=utf-8", true},
		{"no Accept, JSON sent", "", "application/json", true},
		{"JSON sent, text/plain asked", "text/plain", "application/json", false},
		{"form sent", acceptCurl, "application/x-www-form-urlencoded", false},
		{"browser", acceptChrome, "", false},
		{"not json", "application/jsonx", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := prefersJSON(tt.accept, tt.contentType); got != tt.want {
				t.Errorf("prefersJSON(%q, %q) = %v", tt.accept, tt.contentType, got)
			}
		})
	}
}
