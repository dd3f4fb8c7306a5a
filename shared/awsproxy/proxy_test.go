package awsproxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestRecordKeepsTheNewestCalls: past MaxCalls the oldest half goes.
func TestRecordKeepsTheNewestCalls(t *testing.T) {
	p, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range MaxCalls + 10 {
		p.record(Call{Caller: "c", Status: i})
	}
	calls := p.Calls()
	if got, want := len(calls), MaxCalls/2+10; got != want {
		t.Fatalf("%d calls kept, want %d", got, want)
	}
	if first, last := calls[0].Status, calls[len(calls)-1].Status; first != MaxCalls/2 || last != MaxCalls+9 {
		t.Errorf("kept calls %d … %d, want %d … %d", first, last, MaxCalls/2, MaxCalls+9)
	}
}

// TestFaultRulesCountEveryCall: rules for consecutive calls of one
// operation fail each of those calls (every rule counts every call).
func TestFaultRulesCountEveryCall(t *testing.T) {
	p, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for n := 2; n <= 4; n++ {
		p.FailNth("ec2", "StopInstances", n, AccessDenied)
	}
	op := Operation{Service: "ec2", Name: "StopInstances"}
	var got []bool
	for range 5 {
		_, fired := p.match("c", op)
		got = append(got, fired)
	}
	if want := []bool{false, true, true, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls failed %v, want %v", got, want)
	}
}

// TestOnPublishedAndVersionCallers: a successful call that publishes a
// Lambda version reaches the OnPublished callback (before the caller gets
// the response, which is relayed intact); other calls do not. A
// ListenVersion caller's calls carry its version.
func TestOnPublishedAndVersionCallers(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/2015-03-31/functions/conflict/versions":
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"Type":"ResourceConflictException"}`)
		case strings.HasSuffix(r.URL.Path, "/versions"):
			w.WriteHeader(http.StatusCreated)
			if strings.Contains(r.URL.Path, "arn") {
				_, _ = io.WriteString(w, `{"Version":"7"}`) // no FunctionName: taken from the path
				return
			}
			_, _ = io.WriteString(w, `{"FunctionName":"fn","Version":"3"}`)
		case strings.HasSuffix(r.URL.Path, "/code"):
			_, _ = io.WriteString(w, `{"FunctionName":"fn","Version":"$LATEST"}`)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer backend.Close()

	p, err := New(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var mu sync.Mutex
	var got []Published
	p.OnPublished(func(pub Published) { mu.Lock(); got = append(got, pub); mu.Unlock() })

	base, err := p.Listen("client")
	if err != nil {
		t.Fatal(err)
	}
	versionBase, err := p.ListenVersion("fn", "3")
	if err != nil {
		t.Fatal(err)
	}
	call := func(base, method, path string) string {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}

	if body := call(base, http.MethodPost, "/2015-03-31/functions/fn/versions"); body != `{"FunctionName":"fn","Version":"3"}` {
		t.Errorf("PublishVersion answered %q through the proxy", body)
	}
	call(base, http.MethodPost, "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:other/versions")
	call(base, http.MethodPost, "/2015-03-31/functions/conflict/versions")
	call(base, http.MethodPut, "/2015-03-31/functions/fn/code")
	call(versionBase, http.MethodGet, "/2015-03-31/functions/")

	var held []string
	p.BeforeInvoke(func(_ context.Context, function, qualifier string) {
		mu.Lock()
		held = append(held, function+"@"+qualifier)
		mu.Unlock()
	})
	call(base, http.MethodPost, "/2015-03-31/functions/fn/invocations")
	call(base, http.MethodPost, "/2015-03-31/functions/fn:live/invocations")
	call(base, http.MethodPost, "/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:fn:3/invocations")
	call(base, http.MethodPost, "/2015-03-31/functions/fn/invocations?Qualifier=4")
	call(base, http.MethodGet, "/2015-03-31/functions/fn")
	mu.Lock()
	if want := []string{"fn@", "fn@live", "fn@3", "fn@4"}; fmt.Sprint(held) != fmt.Sprint(want) {
		t.Errorf("BeforeInvoke saw %v, want %v", held, want)
	}
	mu.Unlock()

	want := []Published{{Caller: "client", Function: "fn", Version: "3"}, {Caller: "client", Function: "other", Version: "7"}}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("OnPublished got %+v, want %+v", got, want)
	}

	calls := p.Calls()
	if c := calls[4]; c.Caller != "fn" || c.Version != "3" || c.Operation != "ListFunctions" {
		t.Errorf("a version's call recorded as %+v, want Caller fn, Version 3, ListFunctions", c)
	}
	if first := calls[0]; first.Caller != "client" || first.Version != "" || first.Operation != "PublishVersion" {
		t.Errorf("PublishVersion recorded as %+v", first)
	}
}
