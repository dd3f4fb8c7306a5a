package localalb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The metric the publisher publishes, as the ALB names it.
const (
	MetricsNamespace   = "AWS/ApplicationELB"
	RequestCountMetric = "RequestCount"
)

// Defaults of MetricsConfig.
const (
	// DefaultMetricsPeriod is the ALB's: one datapoint per minute.
	DefaultMetricsPeriod  = time.Minute
	DefaultPublishTimeout = 10 * time.Second
	// DefaultPublishAttempts is how many flushes try a period's datapoint
	// before it is dropped.
	DefaultPublishAttempts = 3
)

// CloudWatch is the part of the CloudWatch client the metrics publisher
// uses.
type CloudWatch interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// MetricsConfig configures a MetricsPublisher.
type MetricsConfig struct {
	// LoadBalancerARN is the load balancer the front serves (its suffix
	// app/<name>/<id> is the LoadBalancer dimension). Required.
	LoadBalancerARN string
	// Period is the length of one datapoint: the requests of a period are
	// published as one Sum, timestamped at the period's start, once the
	// period has ended. Default DefaultMetricsPeriod (1 minute, as the ALB
	// publishes); shorter in tests. Below a minute the datapoints are
	// published as high-resolution (StorageResolution 1), as CloudWatch
	// requires to read them back at that period.
	Period time.Duration
	// PublishDelay holds each period's datapoint back this long after the
	// period ends, as CloudWatch makes the ALB's metrics readable minutes
	// late: tests use it to show that the idle watcher's lag covers it.
	// Default 0 (published as soon as the period ends).
	PublishDelay time.Duration
	// PublishTimeout bounds one PutMetricData call. Default
	// DefaultPublishTimeout (10 s).
	PublishTimeout time.Duration
	// PublishAttempts is how many flushes try a period's datapoint (a
	// failed PutMetricData is tried again at the next flush) before it is
	// dropped with an error log. Default DefaultPublishAttempts (3).
	PublishAttempts int
	// Now is the clock periods are cut by. Default time.Now.
	Now func() time.Time
	// Logger receives the publisher's logs. Default: discard.
	Logger *slog.Logger
}

func (c MetricsConfig) withDefaults() MetricsConfig {
	if c.Period <= 0 {
		c.Period = DefaultMetricsPeriod
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.PublishAttempts <= 0 {
		c.PublishAttempts = DefaultPublishAttempts
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}

	return c
}

// MetricsPublisher is an Observer (set it as Config.Observer) that publishes
// the front's requests to CloudWatch as the ALB does: AWS/ApplicationELB
// RequestCount, Unit Count, per target group a request was forwarded to
// (Lambda, instance or ip), with the dimensions LoadBalancer
// (app/<name>/<id>) and TargetGroup (targetgroup/<name>/<id>). Requests
// are counted in memory per period and published once the period has
// ended: one PutMetricData per period and target group with the period's
// Sum; nothing for a period without requests. Requests not forwarded
// (redirects, fixed responses, errors before a target group was chosen)
// are not counted; health checks never go through the front. A forwarded
// request counts whatever its answer, including the front's 503 when no
// target is healthy (where the ALB would fail open to every target).
//
// It publishes from a goroutine of its own, started by NewMetricsPublisher;
// Close publishes what is left and stops it.
type MetricsPublisher struct {
	cw   CloudWatch
	cfg  MetricsConfig
	lb   string // the LoadBalancer dimension
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	pending map[metricsKey]*metricsBucket

	closeOnce sync.Once
	closeErr  error
}

type metricsKey struct {
	start       time.Time // the period's start
	targetGroup string    // the TargetGroup dimension
}

type metricsBucket struct {
	count    float64
	attempts int
}

// NewMetricsPublisher returns a publisher for cfg.LoadBalancerARN that puts
// its datapoints with cw, and starts it.
func NewMetricsPublisher(cw CloudWatch, cfg MetricsConfig) (*MetricsPublisher, error) {
	if cw == nil {
		return nil, errors.New("local ALB metrics: the CloudWatch client is required")
	}
	lb, err := loadBalancerDimension(cfg.LoadBalancerARN)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	p := &MetricsPublisher{
		cw: cw, cfg: cfg, lb: lb,
		log:     cfg.Logger.With("loadBalancer", cfg.LoadBalancerARN),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		pending: map[metricsKey]*metricsBucket{},
	}
	go p.run()

	return p, nil
}

// ObserveRequest counts o in its period when it was forwarded to a target
// group. It never blocks on CloudWatch.
func (p *MetricsPublisher) ObserveRequest(o Observation) {
	if o.TargetGroupARN == "" {
		return
	}
	tg, err := targetGroupDimension(o.TargetGroupARN)
	if err != nil {
		p.log.Warn("request not counted", "error", err)
		return
	}
	key := metricsKey{start: p.cfg.Now().UTC().Truncate(p.cfg.Period), targetGroup: tg}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	b := p.pending[key]
	if b == nil {
		b = &metricsBucket{}
		p.pending[key] = b
	}
	b.count++
}

// Flush publishes every period that has ended by cfg.Now (PublishDelay
// ago), oldest first. A
// datapoint that fails is kept for the next flush (up to
// cfg.PublishAttempts); the error is returned.
func (p *MetricsPublisher) Flush(ctx context.Context) error {
	return p.flush(ctx, false)
}

// Close stops the publisher and publishes every counted request, including
// those of the period under way. Requests observed afterwards are ignored.
// It is safe to call more than once.
func (p *MetricsPublisher) Close() error {
	p.closeOnce.Do(func() {
		close(p.stop)
		<-p.done
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.closeErr = p.flush(context.Background(), true)
	})

	return p.closeErr
}

// run flushes at the end of every period until Close.
func (p *MetricsPublisher) run() {
	defer close(p.done)
	for {
		// The next period end, plus the delay.
		now := p.cfg.Now()
		timer := time.NewTimer(now.Add(-p.cfg.PublishDelay).Truncate(p.cfg.Period).Add(p.cfg.Period + p.cfg.PublishDelay).Sub(now))
		select {
		case <-p.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-p.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := p.Flush(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("publish request metrics", "error", err)
		}
		cancel()
	}
}

// flush publishes the ended periods (every period when all), one
// PutMetricData per period and target group.
func (p *MetricsPublisher) flush(ctx context.Context, all bool) error {
	current := p.cfg.Now().UTC().Add(-p.cfg.PublishDelay).Truncate(p.cfg.Period)

	p.mu.Lock()
	type due struct {
		key    metricsKey
		bucket *metricsBucket
	}
	var batch []due
	for k, b := range p.pending {
		if all || k.start.Before(current) {
			batch = append(batch, due{k, b})
			delete(p.pending, k)
		}
	}
	p.mu.Unlock()

	slices.SortFunc(batch, func(a, b due) int {
		return cmp.Or(a.key.start.Compare(b.key.start), strings.Compare(a.key.targetGroup, b.key.targetGroup))
	})

	var errs []error
	for _, d := range batch {
		err := p.put(ctx, d.key, d.bucket.count)
		if err == nil {
			continue
		}
		errs = append(errs, err)
		d.bucket.attempts++
		if all || d.bucket.attempts >= p.cfg.PublishAttempts || ctx.Err() != nil {
			p.log.Error("request metrics dropped", "targetGroup", d.key.targetGroup, "period", d.key.start,
				"requests", d.bucket.count, "attempts", d.bucket.attempts, "error", err)
			continue
		}
		p.mu.Lock()
		if b := p.pending[d.key]; b != nil { // requests observed since (a late clock)
			d.bucket.count += b.count
		}
		p.pending[d.key] = d.bucket
		p.mu.Unlock()
	}

	return errors.Join(errs...)
}

// put publishes one datapoint.
func (p *MetricsPublisher) put(ctx context.Context, key metricsKey, count float64) error {
	datum := cwtypes.MetricDatum{
		MetricName: aws.String(RequestCountMetric),
		Dimensions: []cwtypes.Dimension{
			{Name: aws.String("LoadBalancer"), Value: aws.String(p.lb)},
			{Name: aws.String("TargetGroup"), Value: aws.String(key.targetGroup)},
		},
		Timestamp: aws.Time(key.start),
		Value:     aws.Float64(count),
		Unit:      cwtypes.StandardUnitCount,
	}
	if p.cfg.Period < time.Minute {
		datum.StorageResolution = aws.Int32(1)
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
	defer cancel()
	if _, err := p.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
		Namespace:  aws.String(MetricsNamespace),
		MetricData: []cwtypes.MetricDatum{datum},
	}); err != nil {
		return fmt.Errorf("put %s %s for %s at %s: %w", MetricsNamespace, RequestCountMetric, key.targetGroup, key.start.Format(time.RFC3339), err)
	}
	p.log.Debug("request metrics published", "targetGroup", key.targetGroup, "period", key.start, "requests", count)

	return nil
}

// loadBalancerDimension is the LoadBalancer dimension of an ALB ARN
// (arn:…:loadbalancer/app/<name>/<id>): app/<name>/<id>.
func loadBalancerDimension(arn string) (string, error) {
	_, suffix, ok := strings.Cut(arn, ":loadbalancer/")
	if !ok || strings.Count(suffix, "/") != 2 {
		return "", fmt.Errorf("local ALB metrics: %q is not a load balancer ARN (arn:…:loadbalancer/app/<name>/<id>)", arn)
	}

	return suffix, nil
}

// targetGroupDimension is the TargetGroup dimension of a target group ARN
// (arn:…:targetgroup/<name>/<id>): targetgroup/<name>/<id>.
func targetGroupDimension(arn string) (string, error) {
	_, suffix, ok := strings.Cut(arn, ":targetgroup/")
	if !ok || strings.Count(suffix, "/") != 1 {
		return "", fmt.Errorf("local ALB metrics: %q is not a target group ARN (arn:…:targetgroup/<name>/<id>)", arn)
	}

	return "targetgroup/" + suffix, nil
}
