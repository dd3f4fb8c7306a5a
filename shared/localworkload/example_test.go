package localworkload_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autostop/autostop/shared/localworkload"
)

// A demo seeds an instance whose app listens on 127.0.0.2:8080 two seconds
// after the instance runs, and never becomes healthy on /healthz.
func ExampleSpec_Tags() {
	spec := localworkload.Spec{
		Address:      netip.MustParseAddr("127.0.0.2"),
		Ports:        []int{8080},
		StartupDelay: 2 * time.Second,
		Health:       localworkload.HealthFail,
		HealthPath:   "/healthz",
	}
	// RunInstancesInput.TagSpecifications: {ResourceType: instance, Tags: spec.Tags()}
	for _, t := range spec.Tags() {
		fmt.Printf("%s=%s\n", aws.ToString(t.Key), aws.ToString(t.Value))
	}
	// Output:
	// kumo:address=127.0.0.2
	// autostop-local:ports=8080
	// autostop-local:startup-delay=2s
	// autostop-local:health=fail
	// autostop-local:health-path=/healthz
}
