package conformance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// gap13UserAgent is what the AWS CLI sends: no "api/<service>" token, the
// only thing kumo v0.33.1 used to tell Query services apart.
const gap13UserAgent = "aws-cli/2.17.0 md/awscrt#0.20.11 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/command#elbv2.describe-tags"

// Gap 13: a Query-protocol action several services share (ELBv2 and EC2
// DescribeTags, SNS and CloudWatch ListTagsForResource/TagResource) reaches
// the service the request is signed for, whatever its User-Agent, as AWS
// routes by endpoint. The ELBv2 and EC2 resources are made with the Go SDK;
// every other call is signed with the SDK's SigV4 signer and sent with the
// AWS CLI's User-Agent.
func TestGap13QueryActionRoutedBySigV4Scope(t *testing.T) {
	b := localawstest.Start(t)
	ctx := t.Context()

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}

	lb, err := elbv2.NewFromConfig(cfg).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("gap13-alb"), Subnets: []string{"subnet-0a", "subnet-0b"},
	})
	if err != nil || len(lb.LoadBalancers) != 1 {
		t.Fatalf("CreateLoadBalancer: err %v, output %+v", err, lb)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)

	ec2c := ec2.NewFromConfig(cfg)
	vpc, err := ec2c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.13.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	if _, err := ec2c.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{vpcID}, Tags: []ec2types.Tag{{Key: aws.String("autostop:vpc"), Value: aws.String("gap13")}},
	}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}

	topicARN := "arn:aws:sns:" + b.Region() + ":" + localaws.AccountID + ":gap13-topic"

	// Steps run in order: the tags a step adds are read back by a later one.
	steps := []struct {
		name        string
		signingName string
		form        url.Values
		wantNS      string            // in the response's XML namespace: the service that answered
		wantTags    map[string]string // subset of the tags the response must carry
	}{
		{
			name: "ELBv2 AddTags", signingName: "elasticloadbalancing", wantNS: "elasticloadbalancing",
			form: url.Values{"Action": {"AddTags"}, "Version": {"2015-12-01"}, "ResourceArns.member.1": {lbARN},
				"Tags.member.1.Key": {"autostop:rule"}, "Tags.member.1.Value": {"r-13"}},
		},
		{
			name: "ELBv2 DescribeTags", signingName: "elasticloadbalancing", wantNS: "elasticloadbalancing",
			form:     url.Values{"Action": {"DescribeTags"}, "Version": {"2015-12-01"}, "ResourceArns.member.1": {lbARN}},
			wantTags: map[string]string{"autostop:rule": "r-13"},
		},
		{
			name: "EC2 DescribeTags", signingName: "ec2", wantNS: "ec2.amazonaws.com",
			form: url.Values{"Action": {"DescribeTags"}, "Version": {"2016-11-15"},
				"Filter.1.Name": {"resource-id"}, "Filter.1.Value.1": {vpcID}},
			wantTags: map[string]string{"autostop:vpc": "gap13"},
		},
		{
			name: "SNS CreateTopic", signingName: "sns", wantNS: "sns.amazonaws.com",
			form: url.Values{"Action": {"CreateTopic"}, "Version": {"2010-03-31"}, "Name": {"gap13-topic"},
				"Tags.member.1.Key": {"autostop:topic"}, "Tags.member.1.Value": {"created"}},
		},
		{
			name: "SNS TagResource", signingName: "sns", wantNS: "sns.amazonaws.com",
			form: url.Values{"Action": {"TagResource"}, "Version": {"2010-03-31"}, "ResourceArn": {topicARN},
				"Tags.member.1.Key": {"autostop:added"}, "Tags.member.1.Value": {"later"}},
		},
		{
			name: "SNS ListTagsForResource", signingName: "sns", wantNS: "sns.amazonaws.com",
			form:     url.Values{"Action": {"ListTagsForResource"}, "Version": {"2010-03-31"}, "ResourceArn": {topicARN}},
			wantTags: map[string]string{"autostop:topic": "created", "autostop:added": "later"},
		},
		// CloudWatch signs as "monitoring" and shares ListTagsForResource with SNS.
		{
			name: "CloudWatch PutMetricAlarm", signingName: "monitoring", wantNS: "monitoring.amazonaws.com",
			form: url.Values{"Action": {"PutMetricAlarm"}, "Version": {"2010-08-01"}, "AlarmName": {"gap13-alarm"},
				"Namespace": {"AWS/EC2"}, "MetricName": {"CPUUtilization"}, "Statistic": {"Average"}, "Period": {"60"},
				"EvaluationPeriods": {"1"}, "Threshold": {"1"}, "ComparisonOperator": {"GreaterThanThreshold"}},
		},
		{
			name: "CloudWatch ListTagsForResource", signingName: "monitoring", wantNS: "monitoring.amazonaws.com",
			form: url.Values{"Action": {"ListTagsForResource"}, "Version": {"2010-08-01"},
				"ResourceARN": {"arn:aws:cloudwatch:" + b.Region() + ":" + localaws.AccountID + ":alarm:gap13-alarm"}},
		},
	}

	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, body := gap13SignedQuery(t, b, st.signingName, st.form)

			root, tags, err := gap13ParseTags(body)
			wantRoot := st.form.Get("Action") + "Response"
			if status != http.StatusOK || err != nil || root.Local != wantRoot || !strings.Contains(root.Space, st.wantNS) {
				t.Fatalf("%s signed for %q: HTTP %d, root <%s xmlns=%q> (want 200, <%s xmlns=\"…%s…\">), parse error %v\nbody: %s",
					st.form.Get("Action"), st.signingName, status, root.Local, root.Space, wantRoot, st.wantNS, err, body)
			}

			for k, v := range st.wantTags {
				if got, ok := tags[k]; !ok || got != v {
					t.Errorf("tag %q: got %q (present %v), want %q\nbody: %s", k, got, ok, v, body)
				}
			}
		})
	}
}

// gap13SignedQuery POSTs a Query-protocol form to kumo the way a non-Go
// client does: SigV4-signed for signingName, with the AWS CLI's User-Agent.
func gap13SignedQuery(t *testing.T, b *localaws.Backend, signingName string, form url.Values) (int, []byte) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	payload := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.Endpoint()+"/", strings.NewReader(payload))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", gap13UserAgent)

	sum := sha256.Sum256([]byte(payload))
	creds := aws.Credentials{AccessKeyID: localaws.AccessKeyID, SecretAccessKey: localaws.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, b.Region(), time.Now()); err != nil {
		t.Fatalf("sign request: %v", err)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", form.Get("Action"), err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}

	return resp.StatusCode, body
}

// gap13ParseTags returns the root element of a Query-protocol XML response
// and every key/value pair in it: an element with Key and Value children
// (ELBv2, SNS) or key and value children (EC2).
func gap13ParseTags(body []byte) (root xml.Name, tags map[string]string, err error) {
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	tags = map[string]string{}

	// children[i] holds the text of the leaf children of the i-th open element.
	var children []map[string]string
	var text strings.Builder

	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return root, tags, nil
		}
		if err != nil {
			return root, tags, err
		}

		switch tok := tok.(type) {
		case xml.StartElement:
			if root.Local == "" {
				root = tok.Name
			}
			children = append(children, map[string]string{})
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			own := children[len(children)-1]
			children = children[:len(children)-1]

			k, hasKey := gap13Field(own, "Key")
			v, hasValue := gap13Field(own, "Value")
			if hasKey && hasValue {
				tags[k] = v
			}
			if len(children) > 0 && len(own) == 0 {
				children[len(children)-1][tok.Name.Local] = strings.TrimSpace(text.String())
			}
			text.Reset()
		}
	}
}

// gap13Field looks a child up by name, first capitalised then lower-case.
func gap13Field(fields map[string]string, name string) (string, bool) {
	if v, ok := fields[name]; ok {
		return v, true
	}
	v, ok := fields[strings.ToLower(name)]

	return v, ok
}
