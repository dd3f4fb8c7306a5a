// Package rule is the AutoStopping rule: which EC2 instances answer which
// host of an autostop load balancer, how their readiness is checked, how
// requests are treated while they start, and when they stop.
//
// The same definition is the "rule" of an "AutoStopping Rule Created" event
// (shared/eventstart), the input of the AttachRule workflow and the rule
// stored in the rules table. Its JSON Schema is the "rule" property of
// statemachine/schema/autostopping-rule-created.schema.json; the tests keep
// schema and struct in agreement.
package rule

// Rule is an AutoStopping rule. Optional fields take the defaults WithDefaults
// fills; Problems lists what is wrong without any AWS call.
type Rule struct {
	// Name of the rule: a DNS label (1–63 letters, digits and hyphens, not
	// starting or ending with a hyphen). It names the rule's target group
	// and, by default, its host.
	Name string `json:"name"`
	// Host the rule answers: a full host name one label under the load
	// balancer's domain, such as "app.autostop.example.com". Default
	// "<name>.<domain>".
	Host string `json:"host,omitempty"`
	// InstanceIDs of the EC2 instances behind the rule (1–100), in the load
	// balancer's VPC. autostop starts them on the first request and never
	// terminates them.
	InstanceIDs []string `json:"instanceIds"`
	// Port the instances serve on (1–65535).
	Port int `json:"port"`
	// HealthCheck of the rule's target group: the readiness signal. Traffic
	// is switched to the instances only once the load balancer's own health
	// check reports every one of them healthy. Default: DefaultHealthCheck.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// GraceSeconds to wait after the targets are healthy before switching
	// traffic to them (0–600, default 0): for apps that answer their health
	// path before they are ready for real requests.
	GraceSeconds int `json:"graceSeconds,omitempty"`
	// IdleMinutes without requests after which the instances are stopped
	// (1–1440).
	IdleMinutes int `json:"idleMinutes"`
	// DryRun: the idle watcher decides as usual but, instead of stopping
	// an idle rule, logs "would stop" with the figures it used and counts
	// it in the Autostop/WouldStop metric. Nothing is changed.
	DryRun bool `json:"dryRun,omitempty"`
	// HideProgressPage: browsers are held and redirected like API clients
	// instead of seeing the progress page while the instances start.
	HideProgressPage bool `json:"hideProgressPage,omitempty"`
	// HoldSeconds a request that is not shown the progress page is held
	// while the instances start, before it is answered 307 (switched) or 503
	// with Retry-After (1–50, default 25: the ALB closes idle connections
	// after 60 s).
	HoldSeconds int `json:"holdSeconds,omitempty"`
	// MaxHeldRequests held at once for this rule across every proxy
	// invocation (1–1000, default 50); beyond it requests are answered 503
	// at once. Each held request occupies one Lambda concurrent execution.
	MaxHeldRequests int `json:"maxHeldRequests,omitempty"`
	// Tags added to everything autostop creates for the rule (its target
	// group, its listener rule), beside autostop's own ownership tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// HealthCheck configures the rule's target group health check; a zero field
// takes DefaultHealthCheck's value.
type HealthCheck struct {
	// Path requested, starting with "/" (default "/").
	Path string `json:"path,omitempty"`
	// IntervalSeconds between checks, 5–300 (default 30).
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
	// TimeoutSeconds of one check, 2–120, less than IntervalSeconds
	// (default 5).
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// HealthyThresholdCount: consecutive successes before healthy, 2–10
	// (default 5).
	HealthyThresholdCount int `json:"healthyThresholdCount,omitempty"`
	// UnhealthyThresholdCount: consecutive failures before unhealthy, 2–10
	// (default 2).
	UnhealthyThresholdCount int `json:"unhealthyThresholdCount,omitempty"`
	// SuccessCodes: HTTP codes meaning healthy, e.g. "200", "200,302" or
	// "200-399" (default "200").
	SuccessCodes string `json:"successCodes,omitempty"`
}

// DefaultHealthCheck returns the Application Load Balancer's own defaults
// for an HTTP instance target group.
func DefaultHealthCheck() HealthCheck {
	return HealthCheck{
		Path: "/", IntervalSeconds: 30, TimeoutSeconds: 5,
		HealthyThresholdCount: 5, UnhealthyThresholdCount: 2, SuccessCodes: "200",
	}
}

// Defaults of the optional fields.
const (
	DefaultHoldSeconds     = 25
	DefaultMaxHeldRequests = 50
)
