package localalb

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Observation is one request the front answered, as the ALB would count it
// in CloudWatch (RequestCount per target group, for example).
type Observation struct {
	// TargetGroupARN is the target group the request was forwarded to;
	// empty when it was not forwarded (redirect, fixed response, an error
	// before a target group was chosen).
	TargetGroupARN string
	// TargetType is the target group's type (lambda, instance, ip); empty
	// with TargetGroupARN.
	TargetType types.TargetTypeEnum
	// Status is the HTTP status the client received.
	Status int
	// Duration is the time from the request's arrival to its answer.
	Duration time.Duration
}

// Observer is told about every request the front answered, once, after the
// answer. It is called on the request's goroutine: it must not block.
type Observer interface {
	ObserveRequest(o Observation)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(o Observation)

// ObserveRequest calls fn(o).
func (fn ObserverFunc) ObserveRequest(o Observation) { fn(o) }
