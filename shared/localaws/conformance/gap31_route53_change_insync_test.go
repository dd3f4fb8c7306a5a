package conformance

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 31: a Route 53 change is PENDING until every Route 53 name server has
// it (usually within 60 s), then INSYNC: ChangeResourceRecordSets answers
// PENDING and GetChange reports PENDING, then INSYNC. With realistic
// timing kumo scales this to KUMO_ROUTE53_INSYNC_DELAY (2 s by default);
// without it every change is INSYNC at once. The records are listed at
// once either way (ListResourceRecordSets includes pending changes).
func TestGap31Route53ChangePendingThenInSync(t *testing.T) {
	for _, c := range []struct {
		name      string
		realistic bool
	}{
		{"realistic timing", true},
		{"default timing", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			b := localawstest.StartWith(t, localaws.Options{RealisticTiming: c.realistic})
			cfg, err := b.AWSConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r53 := route53.NewFromConfig(cfg)

			zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
				Name: aws.String("gap31.example.test"), CallerReference: aws.String("gap31"),
			})
			if err != nil {
				t.Fatalf("CreateHostedZone: %v", err)
			}
			submitted := time.Now()
			out, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
				HostedZoneId: zone.HostedZone.Id,
				ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
					Action: r53types.ChangeActionCreate,
					ResourceRecordSet: &r53types.ResourceRecordSet{
						Name: aws.String("*.apps.gap31.example.test"), Type: r53types.RRTypeTxt, TTL: aws.Int64(300),
						ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(`"gap31"`)}},
					},
				}}},
			})
			if err != nil {
				t.Fatalf("ChangeResourceRecordSets: %v", err)
			}
			id := out.ChangeInfo.Id

			recs, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id})
			if err != nil || len(recs.ResourceRecordSets) != 1 {
				t.Errorf("ListResourceRecordSets right after the change: %v, %d records; want the new record", err, len(recs.ResourceRecordSets))
			}

			if !c.realistic {
				if out.ChangeInfo.Status != r53types.ChangeStatusInsync {
					t.Errorf("ChangeResourceRecordSets status = %s, want INSYNC", out.ChangeInfo.Status)
				}
				if got, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: id}); err != nil {
					t.Errorf("GetChange: %v", err)
				} else if got.ChangeInfo.Status != r53types.ChangeStatusInsync {
					t.Errorf("GetChange: %s, want INSYNC at once", got.ChangeInfo.Status)
				}
				return
			}

			if out.ChangeInfo.Status != r53types.ChangeStatusPending {
				t.Errorf("ChangeResourceRecordSets status = %s, want PENDING", out.ChangeInfo.Status)
			}
			if got, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: id}); err != nil {
				t.Fatalf("GetChange: %v", err)
			} else if got.ChangeInfo.Status != r53types.ChangeStatusPending {
				t.Errorf("GetChange right after the change: %s, want PENDING", got.ChangeInfo.Status)
			}
			for {
				got, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: id})
				if err != nil {
					t.Fatalf("GetChange: %v", err)
				}
				waited := time.Since(submitted)
				if got.ChangeInfo.Status == r53types.ChangeStatusInsync {
					if waited < 1500*time.Millisecond {
						t.Errorf("INSYNC after %v, want PENDING for about 2 s", waited)
					}
					break
				}
				if got.ChangeInfo.Status != r53types.ChangeStatusPending {
					t.Fatalf("GetChange status %s, want PENDING or INSYNC", got.ChangeInfo.Status)
				}
				if waited > 6*time.Second {
					t.Fatalf("still PENDING %v after the change, want INSYNC within about 2 s", waited)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
