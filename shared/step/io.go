// Package step defines the document the ProvisionLoadBalancer state machine
// passes from step to step: the (normalized) request, the execution's name,
// and each step's result. Every step function takes an Input and returns its
// own result type; the state machine stores that result under
// $.results.<step> (ResultPath), so the execution history reads as an audit
// log of what each step found, created or changed.
package step

import "github.com/autostop/autostop/shared/spec"

// Input is what every step receives.
type Input struct {
	// Spec is the request, normalized by the validate step (defaults
	// filled in: region, scheme, subnets, hosted zone ID without prefix,
	// full domain).
	Spec spec.LoadBalancerSpec `json:"spec"`
	// Execution is the Step Functions execution name: it goes into the
	// autostop:execution tag of everything this run creates.
	Execution string `json:"execution"`
	// StateMachine is the ARN of the running state machine (Init fills it
	// from the Context object); the rollback looks for other executions of
	// the same load balancer there.
	StateMachine string `json:"stateMachine,omitempty"`
	// Results of the steps so far.
	Results Results `json:"results"`
	// Timing bounds the wait loops. The state machine's Init state fills
	// it from deployment substitutions (short on the local backend).
	Timing Timing `json:"timing"`
	// Error is set on the rollback path: the error that stopped the run.
	Error *Error `json:"error,omitempty"`
	// Rollback is the previous rollback pass's result when the rollback
	// waits and tries again (nil on its first pass).
	Rollback *RollbackResult `json:"rollback,omitempty"`
}

// Timing bounds the workflow's Wait + Choice loops. Waiting is the state
// machine's job, never a sleeping Lambda.
type Timing struct {
	// LoadBalancerFirstWaitSeconds is the first wait for an ALB to be
	// active, sized to how long one usually provisions (each check is three
	// state transitions); LoadBalancerWaitSeconds every wait after it.
	LoadBalancerFirstWaitSeconds int `json:"loadBalancerFirstWaitSeconds"`
	LoadBalancerWaitSeconds      int `json:"loadBalancerWaitSeconds"`
	LoadBalancerMaxAttempts      int `json:"loadBalancerMaxAttempts"`
	// CertificateWaitSeconds is the first wait for ISSUED; each next wait
	// doubles, up to CertificateMaxWaitSeconds.
	CertificateWaitSeconds    int `json:"certificateWaitSeconds"`
	CertificateMaxWaitSeconds int `json:"certificateMaxWaitSeconds"`
	CertificateMaxAttempts    int `json:"certificateMaxAttempts"`
	// DNSFirstWaitSeconds is the first wait for a Route 53 change to be
	// INSYNC (usually under a minute); DNSWaitSeconds every wait after it.
	DNSFirstWaitSeconds int `json:"dnsFirstWaitSeconds"`
	DNSWaitSeconds      int `json:"dnsWaitSeconds"`
	DNSMaxAttempts      int `json:"dnsMaxAttempts"`
	// RollbackWaitSeconds and RollbackMaxAttempts bound the rollback's
	// loop: a delete AWS refuses for a while (a security group the deleted
	// ALB's network interfaces still use, a certificate just released) is
	// tried again after a Wait, up to the bound (about 15 minutes on AWS).
	RollbackWaitSeconds int `json:"rollbackWaitSeconds"`
	RollbackMaxAttempts int `json:"rollbackMaxAttempts"`
}

// CertificateWait is the wait before check number attempt+1 (attempt ≥ 1):
// CertificateWaitSeconds doubled attempt-1 times, capped at
// CertificateMaxWaitSeconds. Step Functions has no arithmetic the local
// backend runs, so the certificate step computes it.
func (t Timing) CertificateWait(attempt int) int {
	wait := max(t.CertificateWaitSeconds, 1)
	for i := 1; i < attempt && wait < t.CertificateMaxWaitSeconds; i++ {
		wait *= 2
	}

	return min(wait, max(t.CertificateMaxWaitSeconds, 1))
}

// LoadBalancerWait is the wait before check number attempt+1 of the ALB.
func (t Timing) LoadBalancerWait(attempt int) int {
	return loopWait(t.LoadBalancerFirstWaitSeconds, t.LoadBalancerWaitSeconds, attempt)
}

// DNSWait is the wait before check number attempt+1 of the Route 53 change.
func (t Timing) DNSWait(attempt int) int {
	return loopWait(t.DNSFirstWaitSeconds, t.DNSWaitSeconds, attempt)
}

// loopWait is first after the first check (when set), every after the
// others; at least 1 s (a Wait state's SecondsPath needs a number).
func loopWait(first, every, attempt int) int {
	if attempt <= 1 && first > 0 {
		return first
	}

	return max(every, 1)
}

// Error is Step Functions' error document, as a Catch's ResultPath stores it.
type Error struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Results holds each step's result; nil for a step that has not run.
type Results struct {
	LoadBalancer *LoadBalancerResult `json:"loadBalancer,omitempty"`
	ProxyTarget  *ProxyTargetResult  `json:"proxyTarget,omitempty"`
	Certificate  *CertificateResult  `json:"certificate,omitempty"`
	Listeners    *ListenersResult    `json:"listeners,omitempty"`
	DNS          *DNSResult          `json:"dns,omitempty"`
}

// Actions a step reports for a resource.
const (
	Created = "created" // this execution created it
	Adopted = "adopted" // it existed (created by autostop earlier, or adopted by ARN) and is used as is
	Updated = "updated" // it existed and this execution changed it
	Deleted = "deleted" // rollback removed it
)

// Resource is one AWS resource a step touched.
type Resource struct {
	Kind   string `json:"kind"`   // "load-balancer", "target-group", "listener", "security-group", "certificate", "record", "alias", "permission", "version"
	ID     string `json:"id"`     // ARN where there is one, else the ID or record name
	Action string `json:"action"` // Created, Adopted, Updated, Deleted
}

// LoadBalancerResult is the ensure-load-balancer step's result.
type LoadBalancerResult struct {
	ARN                   string `json:"arn"`
	DNSName               string `json:"dnsName"`
	CanonicalHostedZoneID string `json:"canonicalHostedZoneId"`
	State                 string `json:"state"` // provisioning | active | failed
	// Impaired: AWS reports active_impaired (serving, but some zones are
	// impaired); State is then "active", as the ALB serves and the
	// workflow goes on, and this flag keeps the audit trail honest.
	Impaired         bool       `json:"impaired,omitempty"`
	SecurityGroupIDs []string   `json:"securityGroupIds"`
	Adopted          bool       `json:"adopted"` // never deleted by autostop
	Resources        []Resource `json:"resources"`
	// Attempts counts the wait loop's checks (the state machine bounds it).
	Attempts int `json:"attempts"`
	// NextWaitSeconds is how long the state machine waits before checking
	// again (Timing.LoadBalancerWait(Attempts)).
	NextWaitSeconds int `json:"nextWaitSeconds"`
}

// ProxyTargetResult is the ensure-proxy-target step's result.
type ProxyTargetResult struct {
	FunctionARN    string     `json:"functionArn"`
	Version        string     `json:"version"`
	AliasARN       string     `json:"aliasArn"`
	TargetGroupARN string     `json:"targetGroupArn"`
	Resources      []Resource `json:"resources"`
}

// CertificateResult is the ensure-certificate step's result.
type CertificateResult struct {
	ARN    string `json:"arn,omitempty"` // empty: HTTP only
	Status string `json:"status,omitempty"`
	// RequestedByAutostop: autostop requested this certificate from ACM
	// (the request's certificate.issue), as opposed to attaching the
	// user's by ARN. It says nothing about its status: see Status.
	RequestedByAutostop bool `json:"requestedByAutostop"`
	// ValidationRecords are the CNAMEs that validate an issued
	// certificate: upserted with Route 53, to be added by the user otherwise.
	ValidationRecords []Record   `json:"validationRecords,omitempty"`
	Resources         []Resource `json:"resources"`
	Attempts          int        `json:"attempts"`
	// NextWaitSeconds is how long the state machine waits before checking
	// again (Timing.CertificateWait(Attempts)).
	NextWaitSeconds int `json:"nextWaitSeconds,omitempty"`
}

// Record is a DNS record.
type Record struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// ListenersResult is the ensure-listeners step's result.
type ListenersResult struct {
	HTTPSListenerARN string     `json:"httpsListenerArn,omitempty"`
	HTTPListenerARN  string     `json:"httpListenerArn"`
	Resources        []Resource `json:"resources"`
}

// DNSResult is the ensure-DNS step's result.
type DNSResult struct {
	// Wildcard is the record rules are reached by: "*.<domain>".
	Wildcard string `json:"wildcard"`
	// Records autostop upserted (Route 53) ...
	Records []Record `json:"records,omitempty"`
	// ... or the records the user must add at their DNS provider.
	RecordsToAdd []Record   `json:"recordsToAdd,omitempty"`
	ChangeID     string     `json:"changeId,omitempty"`
	ChangeStatus string     `json:"changeStatus,omitempty"` // PENDING | INSYNC
	Resources    []Resource `json:"resources"`
	Attempts     int        `json:"attempts"`
	// NextWaitSeconds is how long the state machine waits before checking
	// again (Timing.DNSWait(Attempts)).
	NextWaitSeconds int `json:"nextWaitSeconds"`
}

// RollbackResult is the rollback step's result.
type RollbackResult struct {
	Deleted []Resource `json:"deleted"`
	// Left lists what this execution created and could not delete.
	Left []Resource `json:"left"`
	// KeptFor names the other executions of the same load balancer that
	// are running or succeeded after this one started: they may have
	// adopted what this execution created, so the rollback deleted nothing.
	KeptFor []string `json:"keptFor,omitempty"`
	// Waiting lists what AWS still holds (StillInUse): the state machine
	// waits and runs the rollback again while State is "waiting".
	Waiting []Resource `json:"waiting,omitempty"`
	// State is RollbackWaiting when the rollback must run again after a
	// Wait, RollbackDone otherwise.
	State string `json:"state"`
	// Attempts counts the rollback passes so far (1 on the first).
	Attempts int `json:"attempts"`
}

// Rollback states.
const (
	RollbackDone    = "done"
	RollbackWaiting = "waiting"
)
