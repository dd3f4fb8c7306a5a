package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// checkFieldNames rejects object keys that differ from the struct's JSON
// names in case only ("vpcid", "Name"): encoding/json matches field names
// case-insensitively even with DisallowUnknownFields, while the JSON Schema
// (and every other consumer) does not. data has already decoded into t.
func checkFieldNames(data []byte, t reflect.Type) error {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}

	return walkFieldNames(doc, t, "")
}

func walkFieldNames(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("json: unknown field %q at %s (field names are case-sensitive)", k, strings.TrimPrefix(path+"."+k, "."))
			}
			if err := walkFieldNames(obj[k], ft, strings.TrimPrefix(path+"."+k, ".")); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if list, ok := v.([]any); ok {
			for i, item := range list {
				if err := walkFieldNames(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}

	return nil
}
