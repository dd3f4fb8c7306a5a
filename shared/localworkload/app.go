package localworkload

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StopGrace is how long Stop lets requests under way finish before it
// closes their connections. Listeners close at once.
const StopGrace = time.Second

// AppState is where a stand-in is in its life.
type AppState string

// States of an App.
const (
	// AppStarting: waiting for the startup delay; nothing listens yet.
	AppStarting AppState = "starting"
	// AppListening: listening on every port.
	AppListening AppState = "listening"
	// AppFailed: a port could not be listened on (Err says why); nothing
	// listens.
	AppFailed AppState = "failed"
	// AppStopped: Stop was called; nothing listens.
	AppStopped AppState = "stopped"
)

// App is one instance's stand-in: after the spec's startup delay, one
// http.Server per port on the spec's address, in this process, until Stop.
// Every path answers a small page that names the instance (see ServeHTTP).
type App struct {
	instanceID string
	spec       Spec
	log        *slog.Logger
	// notify, when set, is told when the app starts listening or fails
	// to (the supervisor's event log). Called without a.mu held.
	notify func(kind EventKind, err error)

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}

	mu    sync.Mutex
	state AppState
	since time.Time // when state began
	err   error
}

// StartApp starts the stand-in of instanceID as spec describes and returns
// at once: the app listens after spec.StartupDelay, in the background. log
// may be nil.
func StartApp(instanceID string, spec Spec, log *slog.Logger) (*App, error) {
	return startApp(instanceID, spec, log, nil)
}

func startApp(instanceID string, spec Spec, log *slog.Logger, notify func(EventKind, error)) (*App, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("stand-in for %s: %w", instanceID, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &App{
		instanceID: instanceID, spec: spec, notify: notify,
		log:  log.With("instance", instanceID, "address", spec.Address.String(), "ports", spec.Ports),
		stop: make(chan struct{}), done: make(chan struct{}),
		state: AppStarting, since: time.Now(),
	}
	go a.run()

	return a, nil
}

// InstanceID is the instance the app stands in for.
func (a *App) InstanceID() string { return a.instanceID }

// Spec is the app's configuration.
func (a *App) Spec() Spec { return a.spec }

// State returns the app's state, since when, and the listen error of a
// failed app.
func (a *App) State() (AppState, time.Time, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	return a.state, a.since, a.err
}

// Addrs are the host:port addresses the app serves (or will serve).
func (a *App) Addrs() []string { return a.spec.addrs() }

// Stop cancels a pending start or closes every listener at once, lets
// requests under way finish for up to StopGrace, closes the remaining
// connections, and returns when no goroutine of the app is left. It is
// safe to call more than once.
func (a *App) Stop() {
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.done
}

// Done is closed once the app has stopped, after Stop or a failed listen.
func (a *App) Done() <-chan struct{} { return a.done }

func (a *App) setState(s AppState, err error) {
	a.mu.Lock()
	a.state, a.since, a.err = s, time.Now(), err
	a.mu.Unlock()
}

func (a *App) run() {
	defer close(a.done)
	defer func() {
		if st, _, _ := a.State(); st != AppFailed {
			a.setState(AppStopped, nil)
		}
	}()

	if d := a.spec.StartupDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-a.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}

	lns, err := a.listen()
	if err != nil {
		a.log.Warn("stand-in cannot listen", "error", err)
		a.setState(AppFailed, err)
		if a.notify != nil {
			a.notify(EventFailed, err)
		}
		return
	}

	servers := make([]*http.Server, len(lns))
	var wg sync.WaitGroup
	for i, ln := range lns {
		srv := &http.Server{
			Handler:           a,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
		}
		servers[i] = srv
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Warn("stand-in server stopped", "listen", ln.Addr().String(), "error", err)
			}
		})
	}
	a.setState(AppListening, nil)
	a.log.Info("stand-in listening")
	if a.notify != nil {
		a.notify(EventListening, nil)
	}

	<-a.stop
	ctx, cancel := context.WithTimeout(context.Background(), StopGrace)
	defer cancel()
	var shut sync.WaitGroup
	for _, srv := range servers {
		shut.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
		})
	}
	shut.Wait()
	wg.Wait()
	a.log.Info("stand-in stopped")
}

// listen opens every port, or none.
func (a *App) listen() ([]net.Listener, error) {
	var lns []net.Listener
	for _, addr := range a.Addrs() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w%s", addr, err, bindHint(a.spec.Address, err))
		}
		lns = append(lns, ln)
	}

	return lns, nil
}

// ServeHTTP answers every request with a short page naming the instance,
// the Host and the path it received, and the app's uptime: HTML when the
// client accepts text/html (a browser), text/plain otherwise (curl, health
// checks). The status is 200, or 500 on a failing health path (HealthTag
// "fail"). Every answer carries X-Served-By: <instance ID> and
// Cache-Control: no-store.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, since, _ := a.State()
	up := time.Since(since).Round(time.Millisecond)
	local := a.spec.Address.String()
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = la.String()
	}

	status, note := http.StatusOK, ""
	if a.spec.failing(r.URL.Path) {
		status, note = http.StatusInternalServerError, "unhealthy ("+HealthTag+"="+string(HealthFail)+")"
	}

	h := w.Header()
	h.Set("X-Served-By", a.instanceID)
	h.Set("Cache-Control", "no-store")
	if wantsHTML(r.Header.Get("Accept")) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		e := html.EscapeString
		var b strings.Builder
		fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head><body>\n", e(a.instanceID))
		if note != "" {
			fmt.Fprintf(&b, "<p><strong>%d %s</strong></p>\n", status, e(note))
		}
		fmt.Fprintf(&b, "<h1>served by %s</h1>\n<p>stand-in workload on %s</p>\n", e(a.instanceID), e(local))
		fmt.Fprintf(&b, "<dl><dt>host</dt><dd>%s</dd><dt>path</dt><dd>%s</dd><dt>up</dt><dd>%s</dd></dl>\n</body></html>\n",
			e(r.Host), e(r.URL.RequestURI()), up)
		_, _ = w.Write([]byte(b.String()))
		return
	}

	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	var b strings.Builder
	if note != "" {
		fmt.Fprintf(&b, "%d %s\n", status, note)
	}
	fmt.Fprintf(&b, "served by %s (stand-in workload on %s)\nhost: %s\npath: %s\nup: %s\n", a.instanceID, local, r.Host, r.URL.RequestURI(), up)
	_, _ = w.Write([]byte(b.String()))
}

// wantsHTML reports whether an Accept header names text/html (or XHTML)
// with a quality above 0.
func wantsHTML(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		media, params, _ := strings.Cut(part, ";")
		media = strings.ToLower(strings.TrimSpace(media))
		if media != "text/html" && media != "application/xhtml+xml" {
			continue
		}
		if quality(params) > 0 {
			return true
		}
	}

	return false
}

// quality is the q parameter of an Accept entry's parameters, 1 when
// absent or malformed.
func quality(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return q
			}
		}
	}

	return 1
}

// bindHint explains how to fix a listen error on a loopback address other
// than 127.0.0.1 where the system does not route it to lo (macOS).
func bindHint(addr netip.Addr, err error) string {
	if addr.Is4() && addr != netip.AddrFrom4([4]byte{127, 0, 0, 1}) && errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Sprintf(" (on macOS, add the address to the loopback interface first: sudo ifconfig lo0 alias %s up)", addr)
	}

	return ""
}
