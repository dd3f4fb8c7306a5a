// Package awsproxy is a recording, fault-injecting reverse proxy that sits
// between Lambda function processes and a local AWS backend.
//
// Each caller (one function, one test client) gets its own loopback listener,
// so every recorded call says who made it without touching the request. The
// proxy also forwards the Lambda Runtime API (/_runtime/…) and notes when a
// function process polls for its next invocation, which is how the local runner
// knows a function is ready.
//
// Tests and benchmarks read call counts from here, never from the code under
// test.
package awsproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Call is one recorded AWS API call.
type Call struct {
	Caller    string        // the listener's caller name (a function name, "client", …)
	Version   string        // the published function version that called (ListenVersion), "" for $LATEST and other callers
	Service   string        // SigV4 signing name
	Operation string        // API operation name
	Mutating  bool          // see IsMutating
	Status    int           // HTTP status returned to the caller
	Fault     string        // injected error code, "" when the call was forwarded
	Duration  time.Duration // time until the response headers

	start time.Time
}

// rule fails the Nth call of one operation (by one caller, when set).
type rule struct {
	caller             string
	service, operation string
	nth                int
	seen               int
	fault              Fault
}

// Proxy forwards AWS API calls to a backend, recording them and injecting
// faults on request. The zero value is not usable; call New.
type Proxy struct {
	target  *url.URL
	forward *httputil.ReverseProxy

	mu        sync.Mutex
	calls     []Call
	rules     []*rule
	polling   map[string]chan struct{} // function name → closed once it polled /next
	idle      map[string]int           // function name → processes waiting in /next now
	onAllBusy func(function string)
	onPublish func(Published)
	servers   []*http.Server
	requestID uint64

	// beforeInvoke may hold an Invoke before it is forwarded.
	beforeInvoke func(ctx context.Context, function, qualifier string)
}

// New returns a proxy that forwards to target (for example
// "http://127.0.0.1:4566").
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse proxy target %q: %w", target, err)
	}

	p := &Proxy{target: u, polling: map[string]chan struct{}{}, idle: map[string]int{}}

	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // runtime API long polls and streamed responses pass through at once
	// Record a call before its response reaches the caller, so a caller
	// that reads Calls() right after its call returns finds it there.
	rp.ModifyResponse = func(resp *http.Response) error {
		if pending, ok := resp.Request.Context().Value(pendingKey{}).(*Call); ok {
			pending.Status = resp.StatusCode
			pending.Duration = time.Since(pending.start)
			p.record(*pending)
			p.notePublished(resp, *pending)
			resp.Body = &watchedBody{ReadCloser: resp.Body, call: *pending, ctx: resp.Request.Context(), log: rp.ErrorLog}
		}

		return nil
	}
	// Errors name the proxy, so that a cut response in a test's log says
	// which of the local backend's proxies cut it.
	rp.ErrorLog = log.New(os.Stderr, "awsproxy: ", log.LstdFlags|log.Lmicroseconds)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if pending, ok := r.Context().Value(pendingKey{}).(*Call); ok {
			pending.Status = http.StatusBadGateway
			pending.Duration = time.Since(pending.start)
			p.record(*pending)
		}
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
	}
	rp.Transport = &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}

	p.forward = rp

	return p, nil
}

// pendingKey carries the Call being forwarded in the request's context.
type pendingKey struct{}

// Listen opens a loopback listener whose calls are recorded under caller and
// returns its base URL, to be used as that caller's AWS_ENDPOINT_URL.
func (p *Proxy) Listen(caller string) (string, error) {
	return p.ListenVersion(caller, "")
}

// ListenVersion is Listen for a published version of a function: its calls
// are recorded under the bare function name as Caller (so that whatever
// counts or fails a function's calls by its name sees its versions' too)
// and the version as Call.Version.
func (p *Proxy) ListenVersion(caller, version string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for caller %s: %w", callerName(caller, version), err)
	}

	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, caller, version) }),
		ReadHeaderTimeout: 10 * time.Second,
	}

	p.mu.Lock()
	p.servers = append(p.servers, srv)
	p.mu.Unlock()

	go func() { _ = srv.Serve(ln) }()

	return "http://" + ln.Addr().String(), nil
}

// Close stops every listener.
func (p *Proxy) Close() error {
	p.mu.Lock()
	servers := p.servers
	p.servers = nil
	p.mu.Unlock()

	var errs []error
	for _, s := range servers {
		if err := s.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}

	return errors.Join(errs...)
}

// FailNth makes the nth call (1-based, counted from now, across all callers)
// of service's operation fail with fault instead of reaching the backend.
// service is the SigV4 signing name ("elasticloadbalancing", "lambda", …).
func (p *Proxy) FailNth(service, operation string, nth int, fault Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.rules = append(p.rules, &rule{service: service, operation: operation, nth: nth, fault: fault})
}

// FailNthBy is FailNth counting only the calls of one caller (a function's
// physical name): a fault at one step of a workflow, whoever else calls the
// same operation meanwhile.
func (p *Proxy) FailNthBy(caller, service, operation string, nth int, fault Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.rules = append(p.rules, &rule{caller: caller, service: service, operation: operation, nth: nth, fault: fault})
}

// ClearFaults removes every fault rule.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.rules = nil
}

// Calls returns a copy of the calls recorded so far.
func (p *Proxy) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()

	return append([]Call(nil), p.calls...)
}

// Reset forgets the recorded calls (fault rules stay).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.calls = nil
}

// WaitPolling blocks until the function has polled the runtime API for its
// next invocation at least once, or ctx ends.
func (p *Proxy) WaitPolling(ctx context.Context, function string) error {
	ch := p.pollChan(function)

	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for function %s to poll the runtime API: %w", function, ctx.Err())
	}
}

func (p *Proxy) pollChan(function string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()

	ch, ok := p.polling[function]
	if !ok {
		ch = make(chan struct{})
		p.polling[function] = ch
	}

	return ch
}

const runtimePrefix = "/_runtime/"

// maxRequestBody bounds a forwarded API request (Lambda's CreateFunction
// with a zip of the largest bootstrap is the biggest, well under it).
const maxRequestBody = 256 << 20

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request, caller, version string) {
	if strings.HasPrefix(r.URL.Path, runtimePrefix) {
		p.serveRuntime(w, r)
		return
	}

	start := time.Now()

	// The whole request is read before it is forwarded (AWS API requests
	// are small): the backend then gets it from memory, and a request body
	// that fails half way is the caller's 400, never a connection to the
	// backend torn down while its response is being relayed.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	switch {
	case err != nil:
		http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
		return
	case len(body) > maxRequestBody:
		http.Error(w, "request body over the proxy's limit", http.StatusRequestEntityTooLarge)
		return
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	r.Header.Del("Transfer-Encoding")
	r.TransferEncoding = nil
	var form url.Values
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		form, _ = url.ParseQuery(string(body))
	}

	op := Identify(r, form)

	if fault, ok := p.match(caller, op); ok {
		op.RequestID = p.nextRequestID()
		p.record(Call{Caller: caller, Version: version, Service: op.Service, Operation: op.Name, Mutating: op.Mutating,
			Status: fault.status(), Fault: fault.Code, Duration: time.Since(start)})
		fault.write(w, op)

		return
	}

	if op.Service == "lambda" && op.Name == "Invoke" {
		p.mu.Lock()
		hold := p.beforeInvoke
		p.mu.Unlock()
		if hold != nil {
			function, qualifier := lambdaTarget(r)
			hold(r.Context(), function, qualifier)
		}
	}

	pending := &Call{Caller: caller, Version: version, Service: op.Service, Operation: op.Name, Mutating: op.Mutating, start: start}
	p.forward.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pendingKey{}, pending)))
}

// BeforeInvoke registers fn, called before a Lambda Invoke through the
// proxy is forwarded, with the function's name and the qualifier invoked
// ("" when none). It may block to hold the invocation (until ctx, the
// request's, ends): the local runner holds the invocations of a function's
// versions while one is being started (see OnPublished).
func (p *Proxy) BeforeInvoke(fn func(ctx context.Context, function, qualifier string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.beforeInvoke = fn
}

// lambdaTarget returns the function name and qualifier a Lambda REST
// request addresses: /2015-03-31/functions/<name, name:qualifier, ARN or
// partial ARN>/…, or the Qualifier query parameter.
func lambdaTarget(r *http.Request) (function, qualifier string) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/2015-03-31/functions/")
	if !ok {
		return "", ""
	}
	fn, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(fn, "function:"); i >= 0 {
		fn = fn[i+len("function:"):]
	}
	function, qualifier, _ = strings.Cut(fn, ":")
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}

	return function, qualifier
}

// OnAllBusy registers fn, called (in its own goroutine) each time a
// function's last waiting process takes an invocation: every process of
// the function is busy, and the next invocation would queue. The local
// runner starts another process then, as Lambda scales out.
func (p *Proxy) OnAllBusy(fn func(function string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onAllBusy = fn
}

// serveRuntime forwards a Lambda Runtime API request, notes the first /next
// poll of each function ("/_runtime/<function>/2018-06-01/runtime/invocation/next";
// <function> is "<name>:<version>" for a published version's process) and
// counts the processes waiting in /next.
func (p *Proxy) serveRuntime(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, runtimePrefix)
	fn, tail, ok := strings.Cut(rest, "/")
	if !ok || !strings.HasSuffix(tail, "/invocation/next") {
		p.forward.ServeHTTP(w, r)
		return
	}

	p.mu.Lock()
	p.idle[fn]++
	p.mu.Unlock()

	// The function counts as polling once its poll has been written to
	// the backend, not when it reaches the proxy: kumo sends an
	// invocation of a version to the version's pollers only once it has
	// seen one (and to $LATEST's until then).
	ch := p.pollChan(fn)
	trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err != nil {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-ch:
		default:
			close(ch)
		}
	}}
	r = r.WithContext(httptrace.WithClientTrace(r.Context(), trace))

	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	p.forward.ServeHTTP(sw, r)

	p.mu.Lock()
	p.idle[fn]--
	allBusy, cb := p.idle[fn] == 0 && sw.status == http.StatusOK, p.onAllBusy
	p.mu.Unlock()
	if allBusy && cb != nil {
		go cb(fn)
	}
}

// Published is a Lambda version published through the proxy.
type Published struct {
	Caller   string // who published it (Call.Caller)
	Function string // the function's name
	Version  string // the version number ("1", "2", …)
}

// OnPublished registers fn, called each time a call through the proxy
// publishes a Lambda version and succeeds: PublishVersion, or
// CreateFunction / UpdateFunctionCode with Publish. It runs before the
// response reaches the caller (so a caller that goes on with the version
// finds whatever fn set up for it under way) and must return at once.
func (p *Proxy) OnPublished(fn func(Published)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onPublish = fn
}

// publishingOps are the Lambda operations whose successful response can be
// a published version's configuration.
var publishingOps = map[string]bool{"PublishVersion": true, "CreateFunction": true, "UpdateFunctionCode": true}

// maxPublishedBody bounds the response read to find a published version
// (a function configuration, a few kB).
const maxPublishedBody = 1 << 20

// notePublished calls the OnPublished callback when resp answers a call
// that published a Lambda version. It reads the body (and puts it back).
func (p *Proxy) notePublished(resp *http.Response, c Call) {
	if c.Service != "lambda" || !publishingOps[c.Operation] || resp.StatusCode/100 != 2 {
		return
	}
	p.mu.Lock()
	cb := p.onPublish
	p.mu.Unlock()
	if cb == nil {
		return
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPublishedBody))
	resp.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), Closer: resp.Body}
	if err != nil {
		return
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return
		}
		if body, err = io.ReadAll(io.LimitReader(zr, maxPublishedBody)); err != nil {
			return
		}
	}

	var cfg struct{ FunctionName, Version string }
	if json.Unmarshal(body, &cfg) != nil || !isVersionNumber(cfg.Version) {
		return // $LATEST: CreateFunction / UpdateFunctionCode without Publish
	}
	if cfg.FunctionName == "" {
		cfg.FunctionName, _ = lambdaTarget(resp.Request)
	}
	cb(Published{Caller: c.Caller, Function: cfg.FunctionName, Version: cfg.Version})
}

func isVersionNumber(v string) bool {
	if v == "" {
		return false
	}
	for _, r := range v {
		if r < '0' || r > '9' {
			return false
		}
	}

	return true
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

// callerName is how logs name a caller: "<function>:<version>" for a
// published version.
func callerName(caller, version string) string {
	if version == "" {
		return caller
	}

	return caller + ":" + version
}

// statusWriter remembers the status a response was sent with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *Proxy) match(caller string, op Operation) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()

	// Every matching rule counts the call, whichever fires: rules for the
	// 1st, 2nd, … call of an operation fail every one of those calls.
	var fault Fault
	fired := false
	for _, r := range p.rules {
		if r.operation != op.Name || (r.service != "" && r.service != op.Service) || (r.caller != "" && r.caller != caller) {
			continue
		}
		r.seen++
		if r.seen == r.nth && !fired {
			fault, fired = r.fault, true
		}
	}

	return fault, fired
}

// MaxCalls bounds the calls the proxy keeps: a long-running local backend
// (make up, with the idle watcher calling every second) drops the oldest
// half when it is reached. Tests Reset long before.
const MaxCalls = 100_000

func (p *Proxy) record(c Call) {
	p.mu.Lock()
	defer p.mu.Unlock()

	if len(p.calls) >= MaxCalls {
		p.calls = append(p.calls[:0], p.calls[len(p.calls)-MaxCalls/2:]...)
	}
	p.calls = append(p.calls, c)
}

func (p *Proxy) nextRequestID() string {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.requestID++

	return fmt.Sprintf("00000000-0000-4000-8000-%012d", p.requestID)
}

// watchedBody logs a failed read of a forwarded response's body with the
// call it belongs to and whether the caller had gone: the proxy can then
// only cut the response short, and the caller sees it as an unexpected EOF.
type watchedBody struct {
	io.ReadCloser
	call Call
	ctx  context.Context
	log  *log.Logger
	read int64
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if err != nil && err != io.EOF {
		b.log.Printf("%s %s.%s: reading the backend's response failed after %d bytes, %s after the call (caller's context: %v): %v",
			callerName(b.call.Caller, b.call.Version), b.call.Service, b.call.Operation, b.read, time.Since(b.call.start).Round(time.Millisecond), b.ctx.Err(), err)
	}

	return n, err
}
