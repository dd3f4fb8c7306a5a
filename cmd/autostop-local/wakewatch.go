package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/rulestore"
)

// wakeWatch prints a wake as it happens, one line per change of what AWS
// (here: the local backend) reports: the rule's state and phase, the
// instance's state, the target's health, then the first answer of the
// instance through the front.
type wakeWatch struct {
	out   io.Writer
	start time.Time
	cl    clients
	plane *dataPlane
}

// run follows the rule of host until the instance answers through the
// front, or timeout.
func (w *wakeWatch) run(ctx context.Context, host string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var lastRule, lastInstance, lastTarget string
	for {
		it, err := w.cl.rules.Get(ctx, host, true)
		if err != nil {
			return err
		}
		if s := ruleLine(it); s != lastRule {
			printf(w.out, w.start, "rule %s", s)
			lastRule = s
		}
		if len(it.Rule.InstanceIDs) > 0 {
			if s := w.instanceLine(ctx, it.Rule.InstanceIDs[0]); s != "" && s != lastInstance {
				printf(w.out, w.start, "instance %s %s", it.Rule.InstanceIDs[0], s)
				lastInstance = s
			}
		}
		if s := w.targetLine(ctx, it.TargetGroupARN); s != "" && s != lastTarget {
			printf(w.out, w.start, "target health %s", s)
			lastTarget = s
		}
		switch {
		case it.State == rulestore.Running:
			return w.served(ctx, host)
		case it.State == rulestore.Stopped && it.LastError != "":
			return fmt.Errorf("the wake failed: %s", it.LastError)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rule %s not running after %v: %s", host, timeout, lastRule)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func ruleLine(it rulestore.Item) string {
	s := string(it.State)
	if it.Phase != "" {
		s += " (" + string(it.Phase) + ")"
	}
	if it.State == rulestore.Running && it.ListenerRuleARN != "" {
		s += ": host rule added, traffic switched to the instances"
	}

	return s
}

func (w *wakeWatch) instanceLine(ctx context.Context, id string) string {
	out, err := w.cl.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return ""
	}

	return string(out.Reservations[0].Instances[0].State.Name)
}

func (w *wakeWatch) targetLine(ctx context.Context, tg string) string {
	if tg == "" {
		return ""
	}
	out, err := w.cl.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
	if err != nil {
		return ""
	}
	var parts []string
	for _, d := range out.TargetHealthDescriptions {
		s := string(d.TargetHealth.State)
		if d.TargetHealth.Reason != "" {
			s += " (" + string(d.TargetHealth.Reason) + ")"
		}
		parts = append(parts, s)
	}

	return strings.Join(parts, ", ")
}

// served sends a request through the front, as the visitor's next reload,
// and prints who answered.
func (w *wakeWatch) served(ctx context.Context, host string) error {
	for {
		status, _, body, err := get(ctx, w.plane.URL(host), "text/plain")
		if err != nil {
			return err
		}
		if status == http.StatusOK {
			first, _, _ := strings.Cut(body, "\n")
			printf(w.out, w.start, "GET %s → %d, %s", w.plane.URL(host), status, first)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("switched, but the front answers %d: %s", status, body)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// get sends one request through the front (the .localhost host works with
// any resolver: the front listens on 127.0.0.1).
func get(ctx context.Context, url, accept string) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Accept", accept)
	client := &http.Client{
		Timeout: 60 * time.Second,
		// *.localhost resolves to the loopback address, as browsers and
		// curl do, whatever the system resolver says.
		Transport:     &http.Transport{DialContext: dialLocalhost},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)

	return resp.StatusCode, resp.Header, string(b), err
}

// dialLocalhost dials *.localhost names at 127.0.0.1 (RFC 6761: they are
// loopback names; browsers and curl resolve them so, the system resolver
// may not).
func dialLocalhost(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer

	return d.DialContext(ctx, network, addr)
}
