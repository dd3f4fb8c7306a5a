package localalb

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Limits of an ALB in front of a Lambda function.
const (
	// MaxLambdaRequestBody is the largest request body the ALB passes to a
	// Lambda target; a larger one is answered 413.
	MaxLambdaRequestBody = 1 << 20
	// MaxLambdaResponse is the largest response JSON a Lambda target may
	// return; a larger one is answered 502.
	MaxLambdaResponse = 1 << 20
)

// Defaults of Config.
const (
	DefaultCacheTTL       = time.Second
	DefaultRefreshTimeout = 10 * time.Second
	// DefaultConnectTimeout is the ALB's connection timeout to targets.
	DefaultConnectTimeout = 10 * time.Second
)

// Config configures a Front.
type Config struct {
	// LoadBalancerARN is the load balancer the front serves. Required.
	LoadBalancerARN string
	// CacheTTL is how long the configuration read from ELBv2 (listeners,
	// rules, target groups, their attributes and target health, instance
	// addresses) is reused before the next request reads it again. While a
	// read is under way, other requests wait for it instead of starting
	// their own. Default DefaultCacheTTL (1 s).
	CacheTTL time.Duration
	// RefreshTimeout bounds one read of the configuration. It runs apart
	// from the request that started it, so a client that goes away does
	// not fail the requests waiting for the same read. Default
	// DefaultRefreshTimeout (10 s).
	RefreshTimeout time.Duration
	// ConnectTimeout bounds the connection to an instance or ip target
	// (answered 504 when it expires, as the ALB does). Used only when
	// Transport is nil. Default DefaultConnectTimeout (10 s).
	ConnectTimeout time.Duration
	// Transport carries requests to instance and ip targets. Default: a
	// transport with no proxy and ConnectTimeout.
	Transport http.RoundTripper
	// Observer, when set, is told about every request the front answered.
	Observer Observer
	// Logger receives the front's logs. Default: discard.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.CacheTTL <= 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.RefreshTimeout <= 0 {
		c.RefreshTimeout = DefaultRefreshTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Transport == nil {
		c.Transport = &http.Transport{
			DialContext:           (&net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       60 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}

	return c
}

// Front serves one load balancer's traffic. It is safe for concurrent use:
// requests are served, and Lambda targets invoked, concurrently.
type Front struct {
	cfg     Config
	clients Clients
	log     *slog.Logger
	cache   *snapshotCache

	// next holds a round-robin counter per target group ARN.
	next sync.Map // string → *atomic.Uint64
}

// New returns a front for cfg.LoadBalancerARN that reads and invokes through
// clients (all three are required).
func New(clients Clients, cfg Config) (*Front, error) {
	if cfg.LoadBalancerARN == "" {
		return nil, errors.New("local ALB front: LoadBalancerARN is required")
	}
	if clients.ELBv2 == nil || clients.Lambda == nil || clients.EC2 == nil {
		return nil, fmt.Errorf("local ALB front for %s: the ELBv2, Lambda and EC2 clients are required", cfg.LoadBalancerARN)
	}
	cfg = cfg.withDefaults()

	f := &Front{cfg: cfg, clients: clients, log: cfg.Logger.With("loadBalancer", cfg.LoadBalancerARN)}
	f.cache = &snapshotCache{ttl: cfg.CacheTTL, timeout: cfg.RefreshTimeout, load: f.load, now: time.Now}

	return f, nil
}

// ServeHTTP answers r as the load balancer would.
func (f *Front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	var obs Observation

	defer func() {
		obs.Status = sw.status
		if obs.Status == 0 {
			obs.Status = http.StatusOK
		}
		obs.Duration = time.Since(start)
		f.log.Debug("request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
			"targetGroup", obs.TargetGroupARN, "status", obs.Status, "duration", obs.Duration)
		if f.cfg.Observer != nil {
			f.cfg.Observer.ObserveRequest(obs)
		}
	}()

	snap, err := f.cache.get(r.Context())
	if err != nil {
		if r.Context().Err() == nil {
			f.log.Warn("read the load balancer's configuration", "error", err)
		}
		writeError(sw, http.StatusServiceUnavailable)
		return
	}
	if snap.listener == nil {
		f.log.Warn("the load balancer has no HTTP or HTTPS listener")
		writeError(sw, http.StatusServiceUnavailable)
		return
	}

	req := newRequest(r, *snap.listener)
	rl := snap.match(req)
	if rl == nil || rl.action == nil {
		// A listener always has a default rule; without one (or without a
		// terminal action) there is nothing an ALB could do.
		f.log.Warn("no rule with an action matched", "host", req.host, "path", req.path)
		writeError(sw, http.StatusInternalServerError)
		return
	}

	switch rl.action.Type {
	case types.ActionTypeEnumRedirect:
		redirect(sw, req, rl.action.RedirectConfig)
	case types.ActionTypeEnumFixedResponse:
		fixedResponse(sw, rl.action.FixedResponseConfig)
	case types.ActionTypeEnumForward:
		arn := forwardTargetGroup(rl.action)
		tg := snap.targetGroups[arn]
		if tg == nil {
			f.log.Warn("forward to a target group that could not be read", "rule", rl.arn, "targetGroup", arn)
			writeError(sw, http.StatusServiceUnavailable)
			return
		}
		obs.TargetGroupARN, obs.TargetType = tg.arn, tg.targetType
		f.forward(sw, req, tg)
	default:
		f.log.Warn("unsupported action", "rule", rl.arn, "type", rl.action.Type)
		writeError(sw, http.StatusInternalServerError)
	}
}

// forward sends req to a target of tg.
func (f *Front) forward(w http.ResponseWriter, req *request, tg *targetGroup) {
	switch tg.targetType {
	case types.TargetTypeEnumLambda:
		f.serveLambda(w, req, tg)
	case types.TargetTypeEnumInstance, types.TargetTypeEnumIp:
		f.serveInstance(w, req, tg)
	default:
		f.log.Warn("unsupported target type", "targetGroup", tg.arn, "targetType", tg.targetType)
		writeError(w, http.StatusBadGateway)
	}
}

// roundRobin returns the next index in [0, n) for target group arn.
func (f *Front) roundRobin(arn string, n int) int {
	v, _ := f.next.LoadOrStore(arn, new(atomic.Uint64))

	return int((v.(*atomic.Uint64).Add(1) - 1) % uint64(n))
}

// statusWriter remembers the status written, for the observer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}

	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (used by httputil.ReverseProxy to
// flush) reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
