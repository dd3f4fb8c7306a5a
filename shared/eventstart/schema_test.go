package eventstart

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/spec"
)

const repoRoot = "../.."

// specSchemaRef is how the detail schema refers to the LoadBalancerSpec
// schema: a file beside it (resolved against the detail schema's $id).
const specSchemaRef = "load-balancer-spec.schema.json"

// TestSamplesParse: every sample event parses (envelope strictly, detail
// with ParseEvent).
func TestSamplesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("sample events: %v, %v (want at least 2)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := ParseEvent(sampleEvent(t, filepath.Base(f))); err != nil {
				t.Errorf("ParseEvent: %v", err)
			}
		})
	}
}

// TestSchemaMatchesStruct: the schema and RuleCreated agree in both
// directions: the same properties at every depth, required = the fields
// without omitempty, additionalProperties false everywhere, and the spec
// by reference to the LoadBalancerSpec schema.
func TestSchemaMatchesStruct(t *testing.T) {
	schema := readSchema(t, SchemaFile)
	if got := schema["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	compareObject(t, "detail", schema, reflect.TypeFor[RuleCreated]())
}

// TestSchemaSpecReference: the referenced LoadBalancerSpec schema exists
// beside this one, and the reference resolves to its $id.
func TestSchemaSpecReference(t *testing.T) {
	schema := readSchema(t, SchemaFile)
	ref := schema["properties"].(map[string]any)["loadBalancer"].(map[string]any)["properties"].(map[string]any)["spec"].(map[string]any)["$ref"]
	if ref != specSchemaRef {
		t.Fatalf("loadBalancer.spec.$ref = %v, want %q", ref, specSchemaRef)
	}
	specFile := path.Join(path.Dir(SchemaFile), specSchemaRef)
	if specFile != spec.SchemaFile {
		t.Errorf("the reference names %s, but the spec's schema is %s", specFile, spec.SchemaFile)
	}
	specSchema := readSchema(t, spec.SchemaFile)
	id, _ := schema["$id"].(string)
	if want := id[:strings.LastIndex(id, "/")+1] + specSchemaRef; specSchema["$id"] != want {
		t.Errorf("spec schema $id = %v: the reference %q from %s resolves to %s", specSchema["$id"], specSchemaRef, id, want)
	}
}

// TestSchemaPatterns: the schema's patterns and bounds are this package's
// (and spec's) constants.
func TestSchemaPatterns(t *testing.T) {
	schema := readSchema(t, SchemaFile)
	tests := []struct {
		path, key string
		want      any
	}{
		{"rule.name", "pattern", rule.NamePattern},
		{"rule.host", "pattern", spec.DomainPattern},
		{"rule.host", "maxLength", rule.MaxHostLength},
		{"rule.instanceIds", "maxItems", rule.MaxInstances},
		{"rule.instanceIds.items", "pattern", rule.InstanceIDPattern},
		{"rule.instanceIds.items", "maxLength", rule.MaxInstanceIDLength},
		{"rule.port", "maximum", rule.MaxPort},
		{"rule.idleMinutes", "minimum", rule.MinIdleMinutes},
		{"rule.idleMinutes", "maximum", rule.MaxIdleMinutes},
		{"rule.healthCheck.path", "pattern", rule.HealthPathPattern},
		{"rule.healthCheck.path", "maxLength", rule.MaxHealthPathLength},
		{"rule.healthCheck.intervalSeconds", "minimum", rule.MinIntervalSeconds},
		{"rule.healthCheck.intervalSeconds", "maximum", rule.MaxIntervalSeconds},
		{"rule.healthCheck.timeoutSeconds", "minimum", rule.MinTimeoutSeconds},
		{"rule.healthCheck.timeoutSeconds", "maximum", rule.MaxTimeoutSeconds},
		{"rule.healthCheck.healthyThresholdCount", "minimum", rule.MinThresholdCount},
		{"rule.healthCheck.healthyThresholdCount", "maximum", rule.MaxThresholdCount},
		{"rule.healthCheck.unhealthyThresholdCount", "minimum", rule.MinThresholdCount},
		{"rule.healthCheck.unhealthyThresholdCount", "maximum", rule.MaxThresholdCount},
		{"rule.healthCheck.successCodes", "pattern", rule.SuccessCodesPattern},
		{"rule.graceSeconds", "maximum", rule.MaxGraceSeconds},
		{"rule.holdSeconds", "minimum", rule.MinHoldSeconds},
		{"rule.holdSeconds", "maximum", rule.MaxHoldSeconds},
		{"rule.maxHeldRequests", "minimum", rule.MinMaxHeldRequests},
		{"rule.maxHeldRequests", "maximum", rule.MaxMaxHeldRequests},
		{"rule.tags", "maxProperties", spec.MaxUserTags},
		{"loadBalancer.name", "pattern", spec.NamePattern},
	}
	for _, tt := range tests {
		node := schema
		for _, k := range strings.Split(tt.path, ".") {
			if k == "items" {
				node = node["items"].(map[string]any)
				continue
			}
			node = node["properties"].(map[string]any)[k].(map[string]any)
		}
		got := node[tt.key]
		if n, ok := tt.want.(int); ok {
			if f, isNum := got.(float64); !isNum || int(f) != n {
				t.Errorf("%s.%s = %v, want %d", tt.path, tt.key, got, n)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s.%s = %v, want %v", tt.path, tt.key, got, tt.want)
		}
	}
}

func readSchema(t *testing.T, file string) map[string]any {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}

	return s
}

// compareObject compares an object schema with a struct type, recursively.
func compareObject(t *testing.T, where string, node map[string]any, typ reflect.Type) {
	t.Helper()

	if node["type"] != "object" || node["additionalProperties"] != false {
		t.Errorf("%s: type %v, additionalProperties %v; want object, false", where, node["type"], node["additionalProperties"])
	}
	props, _ := node["properties"].(map[string]any)

	var fields, required []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			t.Errorf("%s: field %s has no JSON name", where, f.Name)
			continue
		}
		fields = append(fields, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}

		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("%s: field %q (%s) is not in the schema", where, name, f.Name)
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == reflect.TypeFor[spec.LoadBalancerSpec]():
			if p["$ref"] != specSchemaRef {
				t.Errorf("%s.%s: $ref %v, want %q", where, name, p["$ref"], specSchemaRef)
			}
		case ft.Kind() == reflect.Struct:
			compareObject(t, where+"."+name, p, ft)
		default:
			if want := jsonType(ft); p["type"] != want {
				t.Errorf("%s.%s: type %v, want %s", where, name, p["type"], want)
			}
		}
	}

	var schemaProps []string
	for k := range props {
		schemaProps = append(schemaProps, k)
	}
	sort.Strings(fields)
	sort.Strings(schemaProps)
	if !slices.Equal(fields, schemaProps) {
		t.Errorf("%s: struct fields %v, schema properties %v", where, fields, schemaProps)
	}

	var schemaRequired []string
	for _, r := range asSlice(node["required"]) {
		schemaRequired = append(schemaRequired, r.(string))
	}
	sort.Strings(required)
	sort.Strings(schemaRequired)
	if !slices.Equal(required, schemaRequired) {
		t.Errorf("%s: required fields (no omitempty) %v, schema required %v", where, required, schemaRequired)
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array"
	case reflect.Map:
		return "object"
	default:
		return "?" + t.String()
	}
}

// TestDeletedSchemaMatchesStruct: the "AutoStopping Rule Deleted" schema and
// RuleDeleted agree (same properties, required = no omitempty, no
// additional properties), with this package's patterns.
func TestDeletedSchemaMatchesStruct(t *testing.T) {
	schema := readSchema(t, DeletedSchemaFile)
	if got := schema["$schema"]; got != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", got)
	}
	if id, _ := schema["$id"].(string); !strings.HasSuffix(id, "/"+DeletedSchemaFile) {
		t.Errorf("$id = %q, want it to end with %s", id, DeletedSchemaFile)
	}
	compareObject(t, "detail", schema, reflect.TypeFor[RuleDeleted]())

	props := schema["properties"].(map[string]any)
	for _, tt := range []struct {
		field, key string
		want       any
	}{
		{"host", "pattern", spec.DomainPattern},
		{"host", "maxLength", float64(rule.MaxHostLength)},
		{"name", "pattern", rule.NamePattern},
	} {
		if got := props[tt.field].(map[string]any)[tt.key]; got != tt.want {
			t.Errorf("%s.%s = %v, want %v", tt.field, tt.key, got, tt.want)
		}
	}
}
