package localalb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a front served on a loopback address.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Serve serves f on addr, which must be a loopback address
// ("127.0.0.1:0", the default when empty, picks a free port), until ctx
// ends or Close is called. The server keeps the ALB's default idle timeout
// (60 s) for client connections.
func (f *Front) Serve(ctx context.Context, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the local ALB front: %w", addr, err)
	}

	s := &Server{
		srv: &http.Server{
			Handler:           f,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          slog.NewLogLogger(f.log.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.log.Error("local ALB front stopped", "error", err)
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.stop:
		}
	}()
	f.log.Info("local ALB front listening", "url", s.URL())

	return s, nil
}

// URL is the server's base URL, http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Close stops accepting requests, lets the ones under way finish for up to
// 5 seconds, then closes every connection. It is safe to call more than
// once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = errors.Join(fmt.Errorf("shut the local ALB front down: %w", err), s.srv.Close())
		}
		<-s.done
	})

	return s.closeErr
}

// checkLoopback refuses an address that is not on the loopback interface:
// the front is a development tool, not a load balancer to expose.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("local ALB front address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("local ALB front address %q: not a loopback address", addr)
	}

	return nil
}
