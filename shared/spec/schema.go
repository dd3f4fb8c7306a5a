package spec

// SchemaFile is the JSON Schema (draft 2020-12) of LoadBalancerSpec,
// relative to the repository root. It is the document the console, the CLI
// and EventBridge producers can validate against; the tests keep it in
// agreement with this package:
//   - every JSON field of the struct, at every depth, is a property of the
//     schema and the other way round, every object has additionalProperties
//     false (tags excepted: a map, whose additionalProperties is the value
//     schema);
//   - required fields are the fields without omitempty; the conditional
//     requirements (dns.hostedZoneId with route53, certificate with
//     route53, exactly one of certificate.arn and certificate.issue) are
//     if/then/oneOf clauses, and Check makes the same;
//   - enums equal Schemes, IPAddressTypes and Providers, patterns equal this
//     package's *Pattern constants;
//   - the samples and a corpus of bad documents get the same verdict from
//     the schema as from Parse and Check.
//
// Check is stricter than the schema in what needs two fields at once: an
// ARN's region must equal region, an adoption ARN must name the load
// balancer name, an issued certificate's "*.<domain>" must fit in 64
// characters.
const SchemaFile = "statemachine/schema/load-balancer-spec.schema.json"
