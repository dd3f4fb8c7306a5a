package targetgroup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// fakeGroups is an in-memory region of target groups with AWS's semantics
// for the calls DeleteOwnedBy makes: paged listing, DescribeTags failing
// for a whole call when one ARN is gone, NotFound for a gone group.
type fakeGroups struct {
	groups   []*fakeGroup // in listing order
	pageSize int
	// fail fails every call of an operation.
	fail map[string]error
	// deleteErrs fails the next DeleteTargetGroup calls of a group, in order.
	deleteErrs map[string][]error
	// before runs once, before the next call of an operation.
	before map[string]func(f *fakeGroups)
	calls  []string // "Op" or "Op <ARN>" for the calls on one group
	seq    int
}

type fakeGroup struct {
	name, arn string
	tags      map[string]string
	targets   []string
}

func newFakeGroups() *fakeGroups {
	return &fakeGroups{pageSize: 2, fail: map[string]error{}, deleteErrs: map[string][]error{}, before: map[string]func(*fakeGroups){}}
}

func (f *fakeGroups) add(name string, tags map[string]string, targets ...string) string {
	f.seq++
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/%s/%04d", name, f.seq)
	f.groups = append(f.groups, &fakeGroup{name: name, arn: arn, tags: tags, targets: targets})

	return arn
}

func (f *fakeGroups) group(arn string) *fakeGroup {
	for _, g := range f.groups {
		if g.arn == arn {
			return g
		}
	}

	return nil
}

func (f *fakeGroups) call(op, arn string) error {
	if hook := f.before[op]; hook != nil {
		delete(f.before, op)
		hook(f)
	}
	if arn != "" {
		op += " " + arn
	}
	f.calls = append(f.calls, op)

	return f.fail[strings.Fields(op)[0]]
}

// mutating lists the mutating calls, in order.
func (f *fakeGroups) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Describe") {
			out = append(out, c)
		}
	}

	return out
}

func (f *fakeGroups) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := f.call("DescribeTargetGroups", ""); err != nil {
		return nil, err
	}
	if len(in.Names) > 0 || len(in.TargetGroupArns) > 0 || in.LoadBalancerArn != nil {
		return nil, errors.New("fake: DeleteOwnedBy lists every target group")
	}
	start := 0
	if m := aws.ToString(in.Marker); m != "" {
		start, _ = strconv.Atoi(m)
	}
	end := min(start+f.pageSize, len(f.groups))
	out := &elbv2.DescribeTargetGroupsOutput{}
	for _, g := range f.groups[start:end] {
		out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupName: aws.String(g.name), TargetGroupArn: aws.String(g.arn)})
	}
	if end < len(f.groups) {
		out.NextMarker = aws.String(strconv.Itoa(end))
	}

	return out, nil
}

func (f *fakeGroups) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags", ""); err != nil {
		return nil, err
	}
	if len(in.ResourceArns) > MaxTagARNs {
		return nil, fmt.Errorf("fake: %d ARNs in one DescribeTags", len(in.ResourceArns))
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		g := f.group(arn)
		if g == nil {
			return nil, apiErr(CodeNotFound)
		}
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range g.tags {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fakeGroups) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	if err := f.call("DescribeTargetHealth", aws.ToString(in.TargetGroupArn)); err != nil {
		return nil, err
	}
	g := f.group(aws.ToString(in.TargetGroupArn))
	if g == nil {
		return nil, apiErr(CodeNotFound)
	}
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range g.targets {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, desc(id, 8080, elbtypes.TargetHealthStateEnumHealthy, ""))
	}

	return out, nil
}

func (f *fakeGroups) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	if err := f.call("DeregisterTargets", aws.ToString(in.TargetGroupArn)); err != nil {
		return nil, err
	}
	g := f.group(aws.ToString(in.TargetGroupArn))
	if g == nil {
		return nil, apiErr(CodeNotFound)
	}
	for _, t := range in.Targets {
		g.targets = slices.DeleteFunc(g.targets, func(id string) bool { return id == aws.ToString(t.Id) })
	}

	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (f *fakeGroups) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	if err := f.call("DeleteTargetGroup", arn); err != nil {
		return nil, err
	}
	if q := f.deleteErrs[arn]; len(q) > 0 {
		f.deleteErrs[arn] = q[1:]
		return nil, q[0]
	}
	if f.group(arn) == nil {
		return nil, apiErr(CodeNotFound)
	}
	f.groups = slices.DeleteFunc(f.groups, func(g *fakeGroup) bool { return g.arn == arn })

	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func TestDeleteOwnedBy(t *testing.T) {
	// ids names the groups every case starts with.
	type ids struct{ rule1, rule0, proxy, otherLB, foreign, notManaged string }
	setup := func(f *fakeGroups) ids {
		return ids{
			rule1:      f.add("app-0123abcd", ownership.Tags("web", "exec-1", nil), "i-1", "i-2"),
			proxy:      f.add("web-proxy", ownership.Tags("web", "exec-0", nil), "arn:aws:lambda:us-east-1:000000000000:function:autostop-proxy:live"),
			otherLB:    f.add("app-89abcdef", ownership.Tags("api", "exec-1", nil), "i-3"),
			foreign:    f.add("theirs", map[string]string{"team": "x"}, "i-4"),
			notManaged: f.add("web-0000aaaa", map[string]string{ownership.LoadBalancerKey: "web", ownership.ExecutionKey: "exec-1"}),
			rule0:      f.add("old-4567cdef", ownership.Tags("web", "exec-0", nil)),
		}
	}
	inUse := func() error { return apiErr(CodeResourceInUse) }

	tests := []struct {
		name        string
		lb          string
		prepare     func(f *fakeGroups, id ids)
		wantDeleted func(id ids) []string
		wantLeft    func(id ids) []string
		wantInUse   int  // StillInUse errors
		wantErr     bool // an error other than StillInUse
		wantMut     func(id ids) []string
		// vanished is a group someone else deletes meanwhile.
		vanished func(id ids) string
	}{
		{
			name:        "both executions' rule target groups; the proxy, another load balancer's and foreign ones stay",
			lb:          "web",
			wantDeleted: func(id ids) []string { return []string{id.rule1, id.rule0} },
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "another load balancer: only its own",
			lb:   "api",
			wantDeleted: func(id ids) []string {
				return []string{id.otherLB}
			},
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.otherLB, "DeleteTargetGroup " + id.otherLB}
			},
		},
		{
			name: "a load balancer with none",
			lb:   "shop",
		},
		{
			name: "in use twice, then deleted",
			lb:   "web",
			prepare: func(f *fakeGroups, id ids) {
				f.deleteErrs[id.rule1] = []error{inUse(), inUse()}
			},
			wantDeleted: func(id ids) []string { return []string{id.rule1, id.rule0} },
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule1,
					"DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "still in use after the attempts: left and waiting; the next group gets one attempt",
			lb:   "web",
			prepare: func(f *fakeGroups, id ids) {
				f.deleteErrs[id.rule1] = []error{inUse(), inUse(), inUse()}
				f.deleteErrs[id.rule0] = []error{inUse()}
			},
			wantLeft:  func(id ids) []string { return []string{id.rule1, id.rule0} },
			wantInUse: 2,
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule1,
					"DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "a failed delete is left and reported, the next still deleted",
			lb:   "web",
			prepare: func(f *fakeGroups, id ids) {
				f.deleteErrs[id.rule1] = []error{apiErr("AccessDenied")}
			},
			wantDeleted: func(id ids) []string { return []string{id.rule0} },
			wantLeft:    func(id ids) []string { return []string{id.rule1} },
			wantErr:     true,
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "targets that cannot be deregistered: the group is left, not deleted",
			lb:   "web",
			prepare: func(f *fakeGroups, _ ids) {
				f.fail["DeregisterTargets"] = apiErr("Throttling")
			},
			wantDeleted: func(id ids) []string { return []string{id.rule0} },
			wantLeft:    func(id ids) []string { return []string{id.rule1} },
			wantErr:     true,
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "a group gone meanwhile counts as done",
			lb:   "web",
			prepare: func(f *fakeGroups, id ids) {
				// Someone else deletes rule0 after the list: its delete answers NotFound.
				f.before["DeleteTargetGroup"] = func(f *fakeGroups) {
					f.groups = slices.DeleteFunc(f.groups, func(g *fakeGroup) bool { return g.arn == id.rule0 })
				}
			},
			wantDeleted: func(id ids) []string { return []string{id.rule1, id.rule0} },
			wantMut: func(id ids) []string {
				return []string{"DeregisterTargets " + id.rule1, "DeleteTargetGroup " + id.rule1, "DeleteTargetGroup " + id.rule0}
			},
		},
		{
			name: "a group deleted between the list and the tags: skipped",
			lb:   "web",
			prepare: func(f *fakeGroups, id ids) {
				f.before["DescribeTags"] = func(f *fakeGroups) {
					f.groups = slices.DeleteFunc(f.groups, func(g *fakeGroup) bool { return g.arn == id.rule1 })
				}
			},
			wantDeleted: func(id ids) []string { return []string{id.rule0} },
			wantMut:     func(id ids) []string { return []string{"DeleteTargetGroup " + id.rule0} },
			vanished:    func(id ids) string { return id.rule1 },
		},
		{
			name:    "the list fails",
			lb:      "web",
			prepare: func(f *fakeGroups, _ ids) { f.fail["DescribeTargetGroups"] = apiErr("Throttling") },
			wantErr: true,
		},
		{
			name:    "the tags cannot be read",
			lb:      "web",
			prepare: func(f *fakeGroups, _ ids) { f.fail["DescribeTags"] = apiErr("Throttling") },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGroups()
			id := setup(f)
			all := []string{id.rule1, id.rule0, id.proxy, id.otherLB, id.foreign, id.notManaged}
			if tt.prepare != nil {
				tt.prepare(f, id)
			}

			deleted, left, err := deleteOwnedBy(t.Context(), f, tt.lb, 3, time.Millisecond)

			inUse, rest := steperr.SplitInUse(err)
			if (rest != nil) != tt.wantErr || len(inUse) != tt.wantInUse {
				t.Fatalf("err = %v; want an error %v, %d StillInUse", err, tt.wantErr, tt.wantInUse)
			}
			for _, w := range inUse {
				if w.Kind != KindTargetGroup {
					t.Errorf("waiting on a %s, want a %s", w.Kind, KindTargetGroup)
				}
			}
			var wantDeleted, wantLeft, wantMut []string
			if tt.wantDeleted != nil {
				wantDeleted = tt.wantDeleted(id)
			}
			if tt.wantLeft != nil {
				wantLeft = tt.wantLeft(id)
			}
			if tt.wantMut != nil {
				wantMut = tt.wantMut(id)
			}
			if got := resourceIDs(t, deleted, step.Deleted); !slices.Equal(got, wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, wantDeleted)
			}
			if got := resourceIDs(t, left, step.Created); !slices.Equal(got, wantLeft) {
				t.Errorf("left = %v, want %v", got, wantLeft)
			}
			if got := f.mutating(); !slices.Equal(got, wantMut) {
				t.Errorf("mutating calls = %v, want %v", got, wantMut)
			}
			// What is not reported deleted is still there: above all the
			// proxy target group, another load balancer's and foreign ones.
			for _, arn := range all {
				gone := f.group(arn) == nil
				want := slices.Contains(wantDeleted, arn) || (tt.vanished != nil && tt.vanished(id) == arn)
				if gone != want {
					t.Errorf("target group %s gone = %v, want %v", arn, gone, want)
				}
			}
		})
	}
}

// TestDeleteOwnedByKeepsALongNamedProxy: the proxy target group of a load
// balancer whose name is cut to fit is still told apart.
func TestDeleteOwnedByKeepsALongNamedProxy(t *testing.T) {
	const lb = "a-very-long-load-balancer-name-x" // 32 characters
	f := newFakeGroups()
	proxy := f.add(ProxyName(lb), ownership.Tags(lb, "exec-0", nil))
	rule := f.add("app-0123abcd", ownership.Tags(lb, "exec-0", nil))

	deleted, left, err := DeleteOwnedBy(t.Context(), f, lb)
	if err != nil || len(left) != 0 || !slices.Equal(resourceIDs(t, deleted, step.Deleted), []string{rule}) {
		t.Fatalf("deleted %v, left %v, err %v; want the rule's group only", deleted, left, err)
	}
	if f.group(proxy) == nil {
		t.Errorf("the proxy target group %s was deleted", ProxyName(lb))
	}
}

func TestDeleteOwnedByRequiresTheName(t *testing.T) {
	f := newFakeGroups()
	f.add("app-0123abcd", map[string]string{ownership.ManagedByKey: ownership.ManagedByValue, ownership.LoadBalancerKey: ""})
	_, _, err := DeleteOwnedBy(t.Context(), f, "")
	var invalid *steperr.InvalidRequest
	if !errors.As(err, &invalid) || len(f.calls) != 0 {
		t.Fatalf("err = %v after %v; want InvalidRequest and no call", err, f.calls)
	}
}

func TestProxyName(t *testing.T) {
	tests := []struct{ lb, want string }{
		{"web", "web-proxy"},
		{"abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxyz-proxy"},     // 26: fits
		{"abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz-proxy"}, // cut to 26
		{"abcdefghijklmnopqrstuvwxy-z", "abcdefghijklmnopqrstuvwxy-proxy"},     // cut, trailing hyphen dropped
		{"a-very-long-load-balancer-name-x", "a-very-long-load-balancer-proxy"},
	}
	for _, tt := range tests {
		if got := ProxyName(tt.lb); got != tt.want || len(got) > 32 {
			t.Errorf("ProxyName(%q) = %q, want %q", tt.lb, got, tt.want)
		}
	}
}

// resourceIDs returns the IDs of rs, checking their kind and action.
func resourceIDs(t *testing.T, rs []step.Resource, action string) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		if r.Kind != KindTargetGroup || r.Action != action {
			t.Errorf("resource %+v: want kind %s, action %s", r, KindTargetGroup, action)
		}
		out = append(out, r.ID)
	}

	return out
}
