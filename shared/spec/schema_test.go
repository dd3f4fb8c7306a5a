package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// repoFile reads a file by its path from the repository root.
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}

	return data
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	var schema map[string]any
	if err := json.Unmarshal(repoFile(t, SchemaFile), &schema); err != nil {
		t.Fatalf("parse %s: %v", SchemaFile, err)
	}
	if schema["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", schema["$schema"])
	}

	return schema
}

// TestSchemaMatchesStruct walks LoadBalancerSpec and the schema side by side.
func TestSchemaMatchesStruct(t *testing.T) {
	schema := loadSchema(t)
	compareType(t, "", reflect.TypeOf(LoadBalancerSpec{}), schema)

	props := func(path ...string) map[string]any {
		s := schema
		for _, p := range path {
			s = s["properties"].(map[string]any)[p].(map[string]any)
		}
		return s
	}
	enums := []struct {
		path []string
		want []string
	}{
		{[]string{"scheme"}, Schemes()},
		{[]string{"ipAddressType"}, IPAddressTypes()},
		{[]string{"dns", "provider"}, Providers()},
	}
	for _, e := range enums {
		var got []string
		for _, v := range props(e.path...)["enum"].([]any) {
			got = append(got, v.(string))
		}
		if !slices.Equal(got, e.want) {
			t.Errorf("schema enum of %s = %q, want %q", strings.Join(e.path, "."), got, e.want)
		}
	}

	patterns := []struct {
		schema map[string]any
		name   string
		want   string
	}{
		{props("name"), "name", NamePattern},
		{props("arn"), "arn", LoadBalancerARNPattern},
		{props("region"), "region", RegionPattern},
		{props("vpcId"), "vpcId", VPCIDPattern},
		{props("subnetIds")["items"].(map[string]any), "subnetIds[]", SubnetIDPattern},
		{props("securityGroupIds")["items"].(map[string]any), "securityGroupIds[]", SecurityGroupIDPattern},
		{props("domain"), "domain", DomainPattern},
		{props("dns", "hostedZoneId"), "dns.hostedZoneId", HostedZoneIDPattern},
		{props("certificate", "arn"), "certificate.arn", CertificateARNPattern},
		{props("tags")["propertyNames"].(map[string]any), "tags keys", TagPattern},
		{props("tags")["propertyNames"].(map[string]any)["not"].(map[string]any), "tags reserved keys", ReservedTagKeyPattern},
		{props("tags")["additionalProperties"].(map[string]any), "tags values", TagPattern},
	}
	for _, p := range patterns {
		if got := p.schema["pattern"]; got != p.want {
			t.Errorf("schema pattern of %s = %v, want %s", p.name, got, p.want)
		}
	}

	limits := []struct {
		name string
		got  any
		want int
	}{
		{"name maxLength", props("name")["maxLength"], 32},
		{"securityGroupIds maxItems", props("securityGroupIds")["maxItems"], MaxSecurityGroups},
		{"subnetIds minItems", props("subnetIds")["minItems"], MinSubnets},
		{"domain maxLength", props("domain")["maxLength"], MaxDomainLength + 1},
		{"tags maxProperties", props("tags")["maxProperties"], MaxUserTags},
		{"tag key maxLength", props("tags")["propertyNames"].(map[string]any)["maxLength"], MaxTagKeyLength},
		{"tag value maxLength", props("tags")["additionalProperties"].(map[string]any)["maxLength"], MaxTagValueLength},
	}
	for _, l := range limits {
		if l.got != float64(l.want) {
			t.Errorf("schema %s = %v, want %d", l.name, l.got, l.want)
		}
	}
}

// compareType checks that schema describes Go type typ.
func compareType(t *testing.T, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	where := path
	if where == "" {
		where = "(root)"
	}

	wantType := map[reflect.Kind]string{
		reflect.Struct: "object", reflect.Map: "object", reflect.Slice: "array",
		reflect.String: "string", reflect.Bool: "boolean",
	}[typ.Kind()]
	if wantType == "" {
		t.Fatalf("%s: Go kind %s has no schema mapping in this test", where, typ.Kind())
	}
	if schema["type"] != wantType {
		t.Errorf("%s: schema type %v, want %s", where, schema["type"], wantType)
	}
	if _, ok := schema["description"]; !ok && path != "" && typ.Kind() != reflect.String {
		t.Errorf("%s: schema has no description", where)
	}

	switch typ.Kind() {
	case reflect.Slice:
		items, ok := schema["items"].(map[string]any)
		if !ok {
			t.Fatalf("%s: schema has no items", where)
		}
		compareType(t, path+"[]", typ.Elem(), items)

	case reflect.Map:
		values, ok := schema["additionalProperties"].(map[string]any)
		if !ok {
			t.Fatalf("%s: a map's schema needs additionalProperties as the value schema", where)
		}
		compareType(t, path+"{}", typ.Elem(), values)

	case reflect.Struct:
		if schema["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties = %v, want false", where, schema["additionalProperties"])
		}
		properties, _ := schema["properties"].(map[string]any)
		var fields, required []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Errorf("%s.%s: every field needs a JSON name", where, f.Name)
				continue
			}
			fields = append(fields, name)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
			sub, ok := properties[name].(map[string]any)
			if !ok {
				t.Errorf("%s: field %q is not a schema property", where, name)
				continue
			}
			if _, ok := sub["description"]; !ok {
				t.Errorf("%s.%s: schema has no description", where, name)
			}
			compareType(t, strings.TrimPrefix(path+"."+name, "."), f.Type, sub)
		}
		for name := range properties {
			if !slices.Contains(fields, name) {
				t.Errorf("%s: schema property %q is not a field of %s", where, name, typ.Name())
			}
		}
		var schemaRequired []string
		for _, r := range asList(schema["required"]) {
			schemaRequired = append(schemaRequired, r.(string))
		}
		sort.Strings(required)
		sort.Strings(schemaRequired)
		if !slices.Equal(required, schemaRequired) {
			t.Errorf("%s: schema required = %q, fields without omitempty = %q", where, schemaRequired, required)
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestSamples parses and checks every sample execution input, and
// validates it against the schema.
func TestSamples(t *testing.T) {
	schema := loadSchema(t)
	paths, err := filepath.Glob(filepath.Join("..", "..", "statemachine", "samples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	for _, want := range []string{
		"route53-existing-certificate.json", "route53-issued-certificate.json", "other-dns-http-only.json",
		"other-dns-issued-certificate.json", "adopt-existing-alb.json",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("statemachine/samples lacks %s (has %q)", want, names)
		}
	}

	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := s.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
			if errs := validateJSON(schema, data); len(errs) > 0 {
				t.Errorf("schema: %q", errs)
			}
		})
	}
}

// TestSchemaAgreesWithCheck gives good and bad documents to both the schema
// and Parse+Check: they must agree on every one.
func TestSchemaAgreesWithCheck(t *testing.T) {
	schema := loadSchema(t)
	const base = `"name":"demo","vpcId":"vpc-0abc","domain":"autostop.example.com"`
	const r53 = `"dns":{"provider":"route53","hostedZoneId":"Z0123"}`
	const other = `"dns":{"provider":"other"}`
	const cert = `"certificate":{"arn":"arn:aws:acm:us-east-1:123456789012:certificate/abc"}`
	docs := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"route53 with certificate", `{` + base + `,` + r53 + `,` + cert + `}`, true},
		{"other HTTP only", `{` + base + `,` + other + `}`, true},
		{"other issue", `{` + base + `,` + other + `,"certificate":{"issue":true}}`, true},
		{"arn with issue false", `{` + base + `,` + other + `,"certificate":{"arn":"arn:aws:acm:us-east-1:123456789012:certificate/abc","issue":false}}`, true},
		{"everything", `{` + base + `,"arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/demo/1","region":"us-east-1","scheme":"internal","ipAddressType":"dualstack","subnetIds":["subnet-1","subnet-2"],"securityGroupIds":["sg-1"],` + r53 + `,` + cert + `,"tags":{"team":"a b"}}`, true},

		{"unknown field", `{` + base + `,` + other + `,"vpc":"vpc-1"}`, false},
		{"unknown dns field", `{` + base + `,"dns":{"provider":"other","zone":"x"}}`, false},
		{"unknown certificate field", `{` + base + `,` + other + `,"certificate":{"issue":true,"arm":"x"}}`, false},
		{"field name in another case", `{"name":"demo","vpcid":"vpc-0abc","domain":"autostop.example.com",` + other + `}`, false},
		{"missing name", `{"vpcId":"vpc-1","domain":"a.b",` + other + `}`, false},
		{"missing dns", `{` + base + `}`, false},
		{"bad name", `{"name":"-x","vpcId":"vpc-1","domain":"a.b",` + other + `}`, false},
		{"internal name", `{"name":"Internal-x","vpcId":"vpc-1","domain":"a.b",` + other + `}`, false},
		{"bad scheme", `{` + base + `,` + other + `,"scheme":"public"}`, false},
		{"bad region", `{` + base + `,` + other + `,"region":"mars"}`, false},
		{"bad vpc", `{"name":"x","vpcId":"vpc_1","domain":"a.b",` + other + `}`, false},
		{"one subnet", `{` + base + `,` + other + `,"subnetIds":["subnet-1"]}`, false},
		{"duplicate subnets", `{` + base + `,` + other + `,"subnetIds":["subnet-1","subnet-1"]}`, false},
		{"no security groups", `{` + base + `,` + other + `,"securityGroupIds":[]}`, false},
		{"six security groups", `{` + base + `,` + other + `,"securityGroupIds":["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6"]}`, false},
		{"wildcard domain", `{"name":"x","vpcId":"vpc-1","domain":"*.a.b",` + other + `}`, false},
		{"unknown provider", `{` + base + `,"dns":{"provider":"cloudflare"}}`, false},
		{"route53 without zone", `{` + base + `,"dns":{"provider":"route53"},` + cert + `}`, false},
		{"other with zone", `{` + base + `,"dns":{"provider":"other","hostedZoneId":"Z1"}}`, false},
		{"route53 without certificate", `{` + base + `,` + r53 + `}`, false},
		{"certificate both", `{` + base + `,` + other + `,"certificate":{"arn":"arn:aws:acm:us-east-1:123456789012:certificate/abc","issue":true}}`, false},
		{"certificate neither", `{` + base + `,` + other + `,"certificate":{}}`, false},
		{"certificate issue false", `{` + base + `,` + other + `,"certificate":{"issue":false}}`, false},
		{"bad certificate arn", `{` + base + `,` + other + `,"certificate":{"arn":"x"}}`, false},
		{"reserved tag", `{` + base + `,` + other + `,"tags":{"aws:x":"y"}}`, false},
		{"autostop tag", `{` + base + `,` + other + `,"tags":{"AutoStop:x":"y"}}`, false},
		{"tag value not a string", `{` + base + `,` + other + `,"tags":{"k":1}}`, false},
		{"long tag value", `{` + base + `,` + other + `,"tags":{"k":"` + strings.Repeat("v", 257) + `"}}`, false},
	}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			schemaErrs := validateJSON(schema, []byte(d.doc))
			s, err := Parse([]byte(d.doc))
			if err == nil {
				err = s.Check()
			}
			if (len(schemaErrs) == 0) != d.ok {
				t.Errorf("schema errors %q, want ok=%v", schemaErrs, d.ok)
			}
			if (err == nil) != d.ok {
				t.Errorf("Parse+Check = %v, want ok=%v", err, d.ok)
			}
		})
	}
}

// validateJSON checks a document against the subset of JSON Schema 2020-12
// the spec's schema uses (type, properties, required, additionalProperties,
// enum, const, pattern, lengths, items, array and object sizes,
// uniqueItems, propertyNames, not, oneOf, if/then/else). It fails the test
// on any other keyword, so the subset cannot silently grow.
func validateJSON(schema map[string]any, data []byte) []string {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return []string{err.Error()}
	}

	return check(schema, doc, "$")
}

var knownKeywords = map[string]bool{
	"$schema": true, "$id": true, "title": true, "description": true, "type": true, "properties": true,
	"required": true, "additionalProperties": true, "enum": true, "const": true, "pattern": true,
	"minLength": true, "maxLength": true, "items": true, "minItems": true, "maxItems": true,
	"uniqueItems": true, "maxProperties": true, "propertyNames": true, "not": true, "oneOf": true,
	"if": true, "then": true, "else": true,
}

func check(s map[string]any, v any, at string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, a...)) }
	for k := range s {
		if !knownKeywords[k] {
			fail("schema keyword %q is not supported by this test's validator", k)
		}
	}

	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		fail("not of type %s", typ)
		return errs
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		fail("%v not in %v", v, enum)
	}
	if c, ok := s["const"]; ok && c != v {
		fail("%v is not %v", v, c)
	}

	switch x := v.(type) {
	case string:
		n := float64(utf8.RuneCountInString(x))
		if m, ok := s["minLength"].(float64); ok && n < m {
			fail("shorter than %v", m)
		}
		if m, ok := s["maxLength"].(float64); ok && n > m {
			fail("longer than %v", m)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(x) {
			fail("%q does not match %s", x, p)
		}
	case []any:
		n := float64(len(x))
		if m, ok := s["minItems"].(float64); ok && n < m {
			fail("fewer than %v items", m)
		}
		if m, ok := s["maxItems"].(float64); ok && n > m {
			fail("more than %v items", m)
		}
		if s["uniqueItems"] == true {
			seen := map[string]bool{}
			for _, item := range x {
				key := fmt.Sprint(item)
				if seen[key] {
					fail("item %v repeated", item)
				}
				seen[key] = true
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, item := range x {
				errs = append(errs, check(items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		if m, ok := s["maxProperties"].(float64); ok && float64(len(x)) > m {
			fail("more than %v properties", m)
		}
		for _, r := range asList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				fail("%s is required", r)
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, val := range x {
			if names, ok := s["propertyNames"].(map[string]any); ok {
				errs = append(errs, check(names, k, at+" key "+k)...)
			}
			if sub, ok := props[k].(map[string]any); ok {
				errs = append(errs, check(sub, val, at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					fail("unknown property %q", k)
				}
			case map[string]any:
				errs = append(errs, check(ap, val, at+"."+k)...)
			}
		}
	}

	if not, ok := s["not"].(map[string]any); ok && len(check(not, v, at)) == 0 {
		fail("matches a schema it must not match")
	}
	if oneOf, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range oneOf {
			if len(check(sub.(map[string]any), v, at)) == 0 {
				n++
			}
		}
		if n != 1 {
			fail("matches %d of oneOf's schemas, want exactly 1", n)
		}
	}
	if cond, ok := s["if"].(map[string]any); ok {
		branch := "else"
		if len(check(cond, v, at)) == 0 {
			branch = "then"
		}
		if sub, ok := s[branch].(map[string]any); ok {
			errs = append(errs, check(sub, v, at)...)
		}
	}

	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	}

	return false
}
