package awsproxy

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Protocol is the wire protocol of an AWS API request; it decides how an
// injected fault is encoded so the client SDK parses it like a real one.
type Protocol string

// The AWS wire protocols the proxy recognises.
const (
	ProtocolJSON     Protocol = "json"      // awsJson1.0/1.1: X-Amz-Target header (Step Functions, ACM, EventBridge, DynamoDB)
	ProtocolQuery    Protocol = "query"     // form body with Action= (ELBv2, IAM, STS)
	ProtocolEC2Query Protocol = "ec2query"  // form body with Action=, EC2's own error shape
	ProtocolRESTJSON Protocol = "rest-json" // method + path (Lambda)
	ProtocolRESTXML  Protocol = "rest-xml"  // method + path (Route 53, S3)
)

// Operation identifies one AWS API call.
type Operation struct {
	Service   string   // SigV4 signing name: "elasticloadbalancing", "lambda", "states", …
	Name      string   // API operation: "CreateLoadBalancer", "Invoke", …
	Protocol  Protocol // how the request was encoded
	Mutating  bool     // false for read-only calls (Describe*, List*, Get*, …)
	RequestID string   // filled in by the proxy for fault responses
}

// readOnlyPrefixes are the operation-name prefixes AWS uses for calls that
// change nothing. Invoke is counted as read-only: it runs code, it does not
// change a resource's configuration.
var readOnlyPrefixes = []string{
	"Describe", "List", "Get", "Head", "Lookup", "Search", "Validate", "Test",
	"BatchGet", "Query", "Scan", "Invoke", "Check", "Estimate", "Preview",
}

// IsMutating reports whether an operation name denotes a call that can change
// state in the account.
func IsMutating(name string) bool {
	for _, p := range readOnlyPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}

	return true
}

// restRoute maps a REST method and path to an operation name.
type restRoute struct {
	method string
	path   *regexp.Regexp
	name   string
}

func route(method, pattern, name string) restRoute {
	return restRoute{method: method, path: regexp.MustCompile("^" + pattern + "$"), name: name}
}

// restRoutes covers the REST operations of the services this project calls.
// An unknown REST call is still recorded, named "METHOD /path".
var restRoutes = map[string][]restRoute{
	"lambda": {
		route(http.MethodPost, `/2015-03-31/functions/?`, "CreateFunction"),
		route(http.MethodGet, `/2015-03-31/functions/?`, "ListFunctions"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+`, "GetFunction"),
		route(http.MethodDelete, `/2015-03-31/functions/[^/]+`, "DeleteFunction"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+/configuration`, "GetFunctionConfiguration"),
		route(http.MethodPut, `/2015-03-31/functions/[^/]+/configuration`, "UpdateFunctionConfiguration"),
		route(http.MethodPut, `/2015-03-31/functions/[^/]+/code`, "UpdateFunctionCode"),
		route(http.MethodPost, `/2015-03-31/functions/[^/]+/invocations`, "Invoke"),
		route(http.MethodPost, `/2015-03-31/functions/[^/]+/versions`, "PublishVersion"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+/versions`, "ListVersionsByFunction"),
		route(http.MethodPost, `/2015-03-31/functions/[^/]+/aliases`, "CreateAlias"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+/aliases`, "ListAliases"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+/aliases/[^/]+`, "GetAlias"),
		route(http.MethodPut, `/2015-03-31/functions/[^/]+/aliases/[^/]+`, "UpdateAlias"),
		route(http.MethodDelete, `/2015-03-31/functions/[^/]+/aliases/[^/]+`, "DeleteAlias"),
		route(http.MethodPost, `/2015-03-31/functions/[^/]+/policy`, "AddPermission"),
		route(http.MethodGet, `/2015-03-31/functions/[^/]+/policy`, "GetPolicy"),
		route(http.MethodDelete, `/2015-03-31/functions/[^/]+/policy/[^/]+`, "RemovePermission"),
		route(http.MethodPost, `/2017-03-31/tags/.+`, "TagResource"),
		route(http.MethodGet, `/2017-03-31/tags/.+`, "ListTags"),
		route(http.MethodDelete, `/2017-03-31/tags/.+`, "UntagResource"),
	},
	"route53": {
		route(http.MethodPost, `/2013-04-01/hostedzone/?`, "CreateHostedZone"),
		route(http.MethodGet, `/2013-04-01/hostedzone/?`, "ListHostedZones"),
		route(http.MethodGet, `/2013-04-01/hostedzone/[^/]+`, "GetHostedZone"),
		route(http.MethodDelete, `/2013-04-01/hostedzone/[^/]+`, "DeleteHostedZone"),
		route(http.MethodPost, `/2013-04-01/hostedzone/[^/]+/rrset/?`, "ChangeResourceRecordSets"),
		route(http.MethodGet, `/2013-04-01/hostedzone/[^/]+/rrset/?`, "ListResourceRecordSets"),
		route(http.MethodGet, `/2013-04-01/change/[^/]+`, "GetChange"),
		route(http.MethodGet, `/2013-04-01/hostedzonesbyname/?`, "ListHostedZonesByName"),
		route(http.MethodPost, `/2013-04-01/tags/[^/]+/[^/]+`, "ChangeTagsForResource"),
		route(http.MethodGet, `/2013-04-01/tags/[^/]+/[^/]+`, "ListTagsForResource"),
	},
}

// restXMLServices are the REST services whose errors are XML documents.
var restXMLServices = map[string]bool{"route53": true, "s3": true}

// Identify names the AWS operation of a request. form is the parsed body of a
// form-encoded (Query protocol) request, or nil.
func Identify(r *http.Request, form url.Values) Operation {
	op := Operation{Service: SigningName(r.Header.Get("Authorization"))}

	switch {
	case r.Header.Get("X-Amz-Target") != "":
		target := r.Header.Get("X-Amz-Target")
		op.Name = target[strings.LastIndex(target, ".")+1:]
		op.Protocol = ProtocolJSON
	case form != nil && form.Get("Action") != "":
		op.Name = form.Get("Action")
		op.Protocol = ProtocolQuery
		if op.Service == "ec2" {
			op.Protocol = ProtocolEC2Query
		}
	default:
		op.Protocol = ProtocolRESTJSON
		if restXMLServices[op.Service] {
			op.Protocol = ProtocolRESTXML
		}
		op.Name = r.Method + " " + r.URL.Path
		for _, rt := range restRoutes[op.Service] {
			if rt.method == r.Method && rt.path.MatchString(r.URL.Path) {
				op.Name = rt.name
				break
			}
		}
	}

	op.Mutating = IsMutating(op.Name)
	if op.Name == r.Method+" "+r.URL.Path { // an unknown REST call: only reads are safe to assume
		op.Mutating = r.Method != http.MethodGet && r.Method != http.MethodHead
	}

	return op
}

// SigningName returns the service from a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, …"),
// or "" when there is none.
func SigningName(authorization string) string {
	_, rest, ok := strings.Cut(authorization, "Credential=")
	if !ok {
		return ""
	}

	scope, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(scope), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}

	return parts[3]
}
