package conformance

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestGap17ACMCertificateTags: the tags given when a certificate is requested
// can be listed, added to and removed, as autostop's ownership checks need.
func TestGap17ACMCertificateTags(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := acm.NewFromConfig(cfg)

	req, err := client.RequestCertificate(ctx, &acm.RequestCertificateInput{
		DomainName: aws.String("*.tags.example.test"), ValidationMethod: acmtypes.ValidationMethodDns,
		Tags: []acmtypes.Tag{{Key: aws.String("autostop:load-balancer"), Value: aws.String("web")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := req.CertificateArn

	list := func() string {
		t.Helper()
		out, err := client.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: arn})
		if err != nil {
			t.Fatalf("ListTagsForCertificate: %v", err)
		}
		var kv []string
		for _, tag := range out.Tags {
			kv = append(kv, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
		}
		sort.Strings(kv)
		return strings.Join(kv, ",")
	}

	if got := list(); got != "autostop:load-balancer=web" {
		t.Fatalf("tags after request = %q", got)
	}

	if _, err := client.AddTagsToCertificate(ctx, &acm.AddTagsToCertificateInput{CertificateArn: arn, Tags: []acmtypes.Tag{
		{Key: aws.String("team"), Value: aws.String("a")}, {Key: aws.String("autostop:load-balancer"), Value: aws.String("api")},
	}}); err != nil {
		t.Fatalf("AddTagsToCertificate: %v", err)
	}
	if got := list(); got != "autostop:load-balancer=api,team=a" {
		t.Errorf("tags after add = %q, want the value replaced and the new tag added", got)
	}

	if _, err := client.RemoveTagsFromCertificate(ctx, &acm.RemoveTagsFromCertificateInput{CertificateArn: arn, Tags: []acmtypes.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatalf("RemoveTagsFromCertificate: %v", err)
	}
	if got := list(); got != "autostop:load-balancer=api" {
		t.Errorf("tags after remove = %q", got)
	}

	_, err = client.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String("arn:aws:acm:us-east-1:000000000000:certificate/00000000-0000-0000-0000-000000000000")})
	var nf *acmtypes.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("tags of a missing certificate: %v, want ResourceNotFoundException", err)
	}
}
