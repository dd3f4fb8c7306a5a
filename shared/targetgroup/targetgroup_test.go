package targetgroup

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

type fakeELB struct {
	health       []elbtypes.TargetHealthDescription
	deregistered []elbtypes.TargetDescription
	deleteErrs   []error
	deletes      int
}

func (f *fakeELB) DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: f.health}, nil
}

func (f *fakeELB) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	f.deregistered = append(f.deregistered, in.Targets...)
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (f *fakeELB) DeleteTargetGroup(context.Context, *elbv2.DeleteTargetGroupInput, ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	f.deletes++
	if len(f.deleteErrs) > 0 {
		err := f.deleteErrs[0]
		f.deleteErrs = f.deleteErrs[1:]
		return nil, err
	}
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func desc(id string, port int32, state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum) elbtypes.TargetHealthDescription {
	t := &elbtypes.TargetDescription{Id: aws.String(id)}
	if port > 0 {
		t.Port = aws.Int32(port)
	}
	return elbtypes.TargetHealthDescription{Target: t, TargetHealth: &elbtypes.TargetHealth{State: state, Reason: reason}}
}

// TestDeregisterAll: registered targets are deregistered with their port
// (none for Lambda targets); draining and unregistered ones are skipped.
func TestDeregisterAll(t *testing.T) {
	f := &fakeELB{health: []elbtypes.TargetHealthDescription{
		desc("i-1", 8080, elbtypes.TargetHealthStateEnumHealthy, ""),
		desc("arn:aws:lambda:us-east-1:1:function:f:live", 0, elbtypes.TargetHealthStateEnumHealthy, ""),
		desc("i-2", 8080, elbtypes.TargetHealthStateEnumDraining, ""),
		desc("i-3", 8080, elbtypes.TargetHealthStateEnumUnused, elbtypes.TargetHealthReasonEnumNotRegistered),
		desc("i-4", 8080, elbtypes.TargetHealthStateEnumUnused, elbtypes.TargetHealthReasonEnumInvalidState),
	}}
	got, err := DeregisterAll(context.Background(), f, "arn:tg")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(f.deregistered) != 3 {
		t.Fatalf("deregistered %v (returned %v), want i-1, the Lambda target and the stopped i-4", f.deregistered, got)
	}
	if aws.ToString(got[0].Id) != "i-1" || aws.ToInt32(got[0].Port) != 8080 || got[1].Port != nil || aws.ToString(got[2].Id) != "i-4" {
		t.Errorf("targets %+v", got)
	}
}

// TestDelete: in use → retried with backoff, then reported; gone → done.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	f := &fakeELB{deleteErrs: []error{apiErr(CodeResourceInUse), apiErr(CodeResourceInUse)}}
	if inUse, err := Delete(ctx, f, "arn:tg", 4, time.Millisecond); err != nil || inUse || f.deletes != 3 {
		t.Errorf("in use twice: inUse %v, %v after %d calls; want deleted on the third", inUse, err, f.deletes)
	}
	f = &fakeELB{deleteErrs: []error{apiErr(CodeResourceInUse), apiErr(CodeResourceInUse)}}
	if inUse, err := Delete(ctx, f, "arn:tg", 2, time.Millisecond); err != nil || !inUse || f.deletes != 2 {
		t.Errorf("in use past the attempts: inUse %v, %v after %d calls", inUse, err, f.deletes)
	}
	f = &fakeELB{deleteErrs: []error{apiErr(CodeNotFound)}}
	if inUse, err := Delete(ctx, f, "arn:tg", 2, time.Millisecond); err != nil || inUse {
		t.Errorf("gone: inUse %v, %v; want done", inUse, err)
	}
	f = &fakeELB{deleteErrs: []error{apiErr("AccessDenied")}}
	if _, err := Delete(ctx, f, "arn:tg", 2, time.Millisecond); err == nil {
		t.Error("AccessDenied: no error")
	}
}

// fakeTags answers DescribeTags from tags; a listed ARN it lacks fails the
// whole call with notFound (as AWS does), fail fails every call.
type fakeTags struct {
	tags     map[string]string // ARN -> the value of tag "k"
	notFound string
	fail     error
	calls    [][]string
}

func (f *fakeTags) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	f.calls = append(f.calls, in.ResourceArns)
	if f.fail != nil {
		return nil, f.fail
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		v, ok := f.tags[arn]
		if !ok {
			return nil, apiErr(f.notFound)
		}
		out.TagDescriptions = append(out.TagDescriptions, elbtypes.TagDescription{ResourceArn: aws.String(arn), Tags: []elbtypes.Tag{{Key: aws.String("k"), Value: aws.String(v)}}})
	}

	return out, nil
}

func TestTagsOf(t *testing.T) {
	arns := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("arn:%02d", i))
		}
		return out
	}
	all := func(n int) map[string]string {
		m := map[string]string{}
		for _, a := range arns(n) {
			m[a] = "v" + a
		}
		return m
	}
	tests := []struct {
		name      string
		arns      []string
		tags      map[string]string
		fail      error
		wantCalls []int // ARNs per call
		wantTags  int
		wantErr   bool
	}{
		{name: "45 resources: three calls", arns: arns(45), tags: all(45), wantCalls: []int{20, 20, 5}, wantTags: 45},
		{name: "one vanished: its batch one by one, it left out", arns: arns(3), tags: map[string]string{"arn:00": "a", "arn:02": "c"},
			wantCalls: []int{3, 1, 1, 1}, wantTags: 2},
		{name: "a single vanished one", arns: arns(1), tags: map[string]string{}, wantCalls: []int{1}},
		{name: "another error", arns: arns(2), tags: all(2), fail: apiErr("Throttling"), wantCalls: []int{2}, wantErr: true},
		{name: "none", wantCalls: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTags{tags: tt.tags, notFound: "ListenerNotFound", fail: tt.fail}
			got, err := TagsOf(context.Background(), f, tt.arns)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			var calls []int
			for _, c := range f.calls {
				calls = append(calls, len(c))
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls of %v ARNs, want %v", calls, tt.wantCalls)
			}
			if err == nil && len(got) != tt.wantTags {
				t.Errorf("%d resources with tags, want %d", len(got), tt.wantTags)
			}
			for arn, tags := range got {
				if tags["k"] != tt.tags[arn] {
					t.Errorf("%s: tags %v, want k=%s", arn, tags, tt.tags[arn])
				}
			}
		})
	}
}
