package localworkload

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The instance tags a stand-in is configured by.
const (
	// AddressTag is the loopback address the stand-in listens on, such as
	// 127.0.0.5. It is the tag the patched kumo's health checks and the
	// local ALB front (shared/localalb.AddressTag) reach an instance at.
	// Required.
	AddressTag = "kumo:address"
	// PortsTag lists the TCP ports the stand-in serves, comma-separated
	// ("8080" or "8080,9000"). Required.
	PortsTag = "autostop-local:ports"
	// StartupDelayTag is how long the app takes, once the instance runs,
	// to start listening: a Go duration ("3s", "1500ms"). Default 0.
	StartupDelayTag = "autostop-local:startup-delay"
	// HealthTag is "ok" (the default) or "fail": a failing app answers 500
	// on its health path, so its target never becomes healthy.
	HealthTag = "autostop-local:health"
	// HealthPathTag is, with health "fail", the path that answers 500
	// ("/healthz"; a query is ignored). Default: every path answers 500.
	// Without health "fail" it changes nothing: every path answers 200.
	HealthPathTag = "autostop-local:health-path"
)

// Health is the value of HealthTag.
type Health string

// Values of HealthTag.
const (
	HealthOK   Health = "ok"
	HealthFail Health = "fail"
)

// Spec is what an instance's tags say about its stand-in.
type Spec struct {
	// Address is the loopback address to listen on (AddressTag).
	Address netip.Addr
	// Ports to serve, at least one (PortsTag).
	Ports []int
	// StartupDelay is the time from the instance running to the app
	// listening (StartupDelayTag).
	StartupDelay time.Duration
	// Health is HealthOK (or empty) or HealthFail (HealthTag).
	Health Health
	// HealthPath is, with HealthFail, the path that answers 500; empty:
	// every path (HealthPathTag).
	HealthPath string
}

// ErrNotStandIn is returned by SpecFromTags for an instance without the
// required tags: no stand-in runs for it.
var ErrNotStandIn = errors.New("not a stand-in: the instance has no " + AddressTag + " or no " + PortsTag + " tag")

// SpecFromTags reads a Spec from an instance's tags. It returns
// ErrNotStandIn when AddressTag or PortsTag is missing or empty, and an
// error naming the tag when one is malformed.
func SpecFromTags(tags map[string]string) (Spec, error) {
	addr, ports := strings.TrimSpace(tags[AddressTag]), strings.TrimSpace(tags[PortsTag])
	if addr == "" || ports == "" {
		return Spec{}, ErrNotStandIn
	}

	var s Spec
	var err error
	if s.Address, err = netip.ParseAddr(addr); err != nil {
		return Spec{}, fmt.Errorf("tag %s=%q: %w", AddressTag, addr, err)
	}
	for p := range strings.SplitSeq(ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return Spec{}, fmt.Errorf("tag %s=%q: %q is not a port", PortsTag, ports, p)
		}
		s.Ports = append(s.Ports, n)
	}
	if v := strings.TrimSpace(tags[StartupDelayTag]); v != "" {
		if s.StartupDelay, err = time.ParseDuration(v); err != nil {
			return Spec{}, fmt.Errorf("tag %s=%q: %w", StartupDelayTag, v, err)
		}
	}
	s.Health = Health(strings.ToLower(strings.TrimSpace(tags[HealthTag])))
	s.HealthPath = strings.TrimSpace(tags[HealthPathTag])

	if err := s.Validate(); err != nil {
		return Spec{}, err
	}

	return s, nil
}

// Validate checks the spec: a loopback address (a stand-in never listens
// on a real interface), distinct ports in 1–65535, a delay ≥ 0, a known
// health and a health path starting with "/".
func (s Spec) Validate() error {
	var errs []error
	if !s.Address.IsValid() || !s.Address.Unmap().IsLoopback() {
		errs = append(errs, fmt.Errorf("%s: %v is not a loopback address (127.0.0.0/8 or ::1)", AddressTag, s.Address))
	}
	if len(s.Ports) == 0 {
		errs = append(errs, fmt.Errorf("%s: no port", PortsTag))
	}
	for i, p := range s.Ports {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: port %d is not in 1-65535", PortsTag, p))
		} else if slices.Contains(s.Ports[:i], p) {
			errs = append(errs, fmt.Errorf("%s: port %d is listed twice", PortsTag, p))
		}
	}
	if s.StartupDelay < 0 {
		errs = append(errs, fmt.Errorf("%s: %v is negative", StartupDelayTag, s.StartupDelay))
	}
	if s.Health != "" && s.Health != HealthOK && s.Health != HealthFail {
		errs = append(errs, fmt.Errorf("%s: %q is neither %q nor %q", HealthTag, s.Health, HealthOK, HealthFail))
	}
	if s.HealthPath != "" && !strings.HasPrefix(s.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("%s: %q does not start with /", HealthPathTag, s.HealthPath))
	}

	return errors.Join(errs...)
}

// Tags are the instance tags that describe s, for RunInstances'
// TagSpecifications or CreateTags. Defaults are left out.
func (s Spec) Tags() []ec2types.Tag {
	ports := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		ports[i] = strconv.Itoa(p)
	}
	tags := []ec2types.Tag{
		{Key: aws.String(AddressTag), Value: aws.String(s.Address.String())},
		{Key: aws.String(PortsTag), Value: aws.String(strings.Join(ports, ","))},
	}
	if s.StartupDelay != 0 {
		tags = append(tags, ec2types.Tag{Key: aws.String(StartupDelayTag), Value: aws.String(s.StartupDelay.String())})
	}
	if s.Health != "" && s.Health != HealthOK {
		tags = append(tags, ec2types.Tag{Key: aws.String(HealthTag), Value: aws.String(string(s.Health))})
	}
	if s.HealthPath != "" {
		tags = append(tags, ec2types.Tag{Key: aws.String(HealthPathTag), Value: aws.String(s.HealthPath)})
	}

	return tags
}

// addrs are the host:port addresses to listen on.
func (s Spec) addrs() []string {
	out := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		out[i] = net.JoinHostPort(s.Address.String(), strconv.Itoa(p))
	}

	return out
}

// failing reports whether path answers 500.
func (s Spec) failing(path string) bool {
	if s.Health != HealthFail {
		return false
	}
	if s.HealthPath == "" {
		return true
	}
	want, _, _ := strings.Cut(s.HealthPath, "?")

	return path == want
}

// equal reports whether a and b describe the same stand-in.
func (s Spec) equal(o Spec) bool {
	return s.Address == o.Address && slices.Equal(s.Ports, o.Ports) && s.StartupDelay == o.StartupDelay &&
		s.health() == o.health() && s.HealthPath == o.HealthPath
}

func (s Spec) health() Health {
	if s.Health == "" {
		return HealthOK
	}

	return s.Health
}

// tagMap turns EC2 tags into a map.
func tagMap(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}

	return m
}
