// Package spec defines the request of the ProvisionLoadBalancer workflow:
// which Application Load Balancer autostop should create or adopt, in which
// network, for which wildcard domain, with which certificate and DNS.
//
// The JSON form is the execution input (console, CLI, EventBridge detail);
// statemachine/schema/load-balancer-spec.schema.json (SchemaFile) describes
// the same document.
package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
)

// DNS providers.
const (
	ProviderRoute53 = "route53" // autostop upserts the records in a Route 53 hosted zone
	ProviderOther   = "other"   // the output says which CNAME records to add elsewhere
)

// Schemes and address types of the ALB.
const (
	SchemeInternetFacing = "internet-facing"
	SchemeInternal       = "internal"
	IPv4                 = "ipv4"
	DualStack            = "dualstack"
)

// LoadBalancerSpec is what to provision.
type LoadBalancerSpec struct {
	// Name of the ALB: 1–32 characters, letters, digits and hyphens, not
	// starting or ending with a hyphen, not starting with "internal-".
	// Target groups and records derive their names from it.
	Name string `json:"name"`
	// ARN of an existing ALB to adopt instead of creating one (optional).
	// Its name must equal Name; autostop never deletes an adopted ALB.
	ARN string `json:"arn,omitempty"`
	// Region where the ALB is installed. Default: the workflow's region.
	Region string `json:"region,omitempty"`
	// Scheme: "internet-facing" (default) or "internal".
	Scheme string `json:"scheme,omitempty"`
	// IPAddressType: "ipv4" (default) or "dualstack" (adds an AAAA record).
	IPAddressType string `json:"ipAddressType,omitempty"`
	// VPCID is the VPC the ALB lives in.
	VPCID string `json:"vpcId"`
	// SubnetIDs: at least two, in different availability zones, all in
	// VPCID. Default: one subnet of VPCID per availability zone.
	SubnetIDs []string `json:"subnetIds,omitempty"`
	// SecurityGroupIDs of VPCID. Default: a security group autostop creates
	// that allows TCP 80 and 443 from anywhere.
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// Domain under which rules live: rules answer <rule>.<Domain>. With
	// Route 53 it may be a prefix inside the hosted zone ("autostop") or a
	// full domain ending in the zone's name ("autostop.example.com").
	Domain string `json:"domain"`
	// DNS says who serves Domain.
	DNS DNSSpec `json:"dns"`
	// Certificate for HTTPS. Absent: HTTP only (allowed with DNS provider
	// "other" only).
	Certificate *CertificateSpec `json:"certificate,omitempty"`
	// Tags added to every resource autostop creates, beside its own
	// autostop:* ownership tags.
	Tags map[string]string `json:"tags,omitempty"`
}

// DNSSpec names the DNS provider of the domain.
type DNSSpec struct {
	// Provider: "route53" or "other".
	Provider string `json:"provider"`
	// HostedZoneID of the public Route 53 zone (route53 only), e.g.
	// "Z0123456789ABCDEFGHIJ" or "/hostedzone/Z0123…".
	HostedZoneID string `json:"hostedZoneId,omitempty"`
}

// CertificateSpec chooses the ALB's certificate: exactly one of ARN or Issue.
type CertificateSpec struct {
	// ARN of an ISSUED ACM certificate in the ALB's region covering
	// "*.<domain>" and valid for at least 30 more days.
	ARN string `json:"arn,omitempty"`
	// Issue requests a DNS-validated certificate for "*.<domain>" and
	// "<domain>".
	Issue bool `json:"issue,omitempty"`
}

// Parse decodes a spec, rejecting unknown fields (a typo must not pass
// silently) and trailing data.
func Parse(data []byte) (LoadBalancerSpec, error) {
	var s LoadBalancerSpec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return LoadBalancerSpec{}, fmt.Errorf("parse load balancer spec: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return LoadBalancerSpec{}, fmt.Errorf("parse load balancer spec: unexpected data after the JSON object")
	}
	if err := checkFieldNames(data, reflect.TypeOf(s)); err != nil {
		return LoadBalancerSpec{}, fmt.Errorf("parse load balancer spec: %w", err)
	}

	return s, nil
}
