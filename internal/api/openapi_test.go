package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/api/apitest"
)

// openAPI is the part of the OpenAPI document the tests read.
type openAPI struct {
	OpenAPI string `json:"openapi"`
	Paths   map[string]map[string]struct {
		Parameters []struct {
			Name string `json:"name"`
			In   string `json:"in"`
		} `json:"parameters"`
		Responses map[string]struct {
			Ref     string `json:"$ref"`
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T, h http.Handler) openAPI {
	t.Helper()
	rec := get(t, h, "/api/openapi.json", http.StatusOK)
	var doc openAPI
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("decoding the OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIListsEveryRoute(t *testing.T) {
	a := api.New(api.Options{})
	doc := loadOpenAPI(t, a.Handler())
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}

	routes := a.Routes()
	var documented []string
	for path := range doc.Paths {
		documented = append(documented, path)
	}
	sort.Strings(documented)
	sorted := slices.Sorted(slices.Values(routes))

	for _, r := range sorted {
		if _, ok := doc.Paths[r]; !ok {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, p := range documented {
		if !slices.Contains(routes, p) {
			t.Errorf("OpenAPI path %s is not a route", p)
		}
	}

	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "get" {
				t.Errorf("%s documents method %s; every route is GET or HEAD", path, method)
			}
		}
		if _, ok := ops["get"].Responses["405"]; !ok {
			t.Errorf("%s does not document 405", path)
		}
	}

	params := doc.Paths["/api/ip/{ip}"]["get"].Parameters
	if len(params) != 1 || params[0].Name != "ip" || params[0].In != "path" {
		t.Errorf("/api/ip/{ip} parameters %+v, want the path parameter ip", params)
	}
}

// TestOpenAPIDescribesBodies checks every JSON body of the fixture against
// the 200 schema of its route: no key the document lacks, no required key
// missing, and the JSON type of every value.
func TestOpenAPIDescribesBodies(t *testing.T) {
	h := newPublished(t).Handler()
	doc := loadOpenAPI(t, h)

	targets := map[string]string{
		"/api/ip/" + apitest.BadActor.String():       "/api/ip/{ip}",
		"/api/ip/" + apitest.BothDirections.String(): "/api/ip/{ip}",
		"/api/ip/" + apitest.BehindNAT.String():      "/api/ip/{ip}",
		"/api/ip/" + apitest.Cached.String():         "/api/ip/{ip}",
		"/api/ip/10.0.0.5":                           "/api/ip/{ip}",
	}
	for path, ops := range doc.Paths {
		if _, ok := ops["get"].Responses["200"].Content["application/json"]; ok && path != "/api/ip/{ip}" {
			targets[path] = path
		}
	}
	if len(targets) < 18 {
		t.Fatalf("only %d JSON targets found in the document", len(targets))
	}

	for target, path := range targets {
		t.Run(target, func(t *testing.T) {
			schema := doc.Paths[path]["get"].Responses["200"].Content["application/json"].Schema
			var body any
			if err := json.Unmarshal(get(t, h, target, http.StatusOK).Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			for _, problem := range validate(doc, schema, body, "$") {
				t.Error(problem)
			}
		})
	}
}

func TestOpenAPIDescribesErrors(t *testing.T) {
	doc := loadOpenAPI(t, api.New(api.Options{}).Handler())
	for _, path := range []string{"/api/report", "/api/report/blocked", "/api/report/outbound"} {
		if _, ok := doc.Paths[path]["get"].Responses["503"]; !ok {
			t.Errorf("%s does not document the 503 before the first report", path)
		}
	}
	for _, code := range []string{"400", "404", "503"} {
		if _, ok := doc.Paths["/api/ip/{ip}"]["get"].Responses[code]; !ok {
			t.Errorf("/api/ip/{ip} does not document %s", code)
		}
	}
}

// validate checks v against a JSON Schema subset: $ref, anyOf, type (one or
// a list), properties with required, additionalProperties, items and enum.
// An object schema with properties and no additionalProperties admits no
// other keys, so a field the document lacks is reported.
func validate(doc openAPI, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		resolved, ok := doc.Components.Schemas[name]
		if !ok {
			return []string{fmt.Sprintf("%s: unknown schema %s", at, ref)}
		}
		return validate(doc, resolved, v, at)
	}
	if branches, ok := schema["anyOf"].([]any); ok {
		var all []string
		for _, b := range branches {
			problems := validate(doc, b.(map[string]any), v, at)
			if len(problems) == 0 {
				return nil
			}
			all = append(all, problems...)
		}
		return append([]string{fmt.Sprintf("%s: matches no anyOf branch", at)}, all...)
	}

	if problem := checkType(schema["type"], v, at); problem != "" {
		return []string{problem}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", at, v, enum)}
	}

	var problems []string
	switch val := v.(type) {
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, elem := range val {
				problems = append(problems, validate(doc, items, elem, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		problems = append(problems, validateObject(doc, schema, val, at)...)
	}
	return problems
}

func validateObject(doc openAPI, schema map[string]any, val map[string]any, at string) []string {
	var problems []string
	props, _ := schema["properties"].(map[string]any)
	additional, hasAdditional := schema["additionalProperties"].(map[string]any)
	if maxProps, ok := schema["maxProperties"].(float64); ok && float64(len(val)) > maxProps {
		problems = append(problems, fmt.Sprintf("%s: %d keys, at most %v allowed", at, len(val), maxProps))
	}
	for _, req := range anySlice(schema["required"]) {
		if _, ok := val[req.(string)]; !ok {
			problems = append(problems, fmt.Sprintf("%s: required key %q missing", at, req))
		}
	}
	for k, child := range val {
		switch p, ok := props[k].(map[string]any); {
		case ok:
			problems = append(problems, validate(doc, p, child, at+"."+k)...)
		case hasAdditional:
			problems = append(problems, validate(doc, additional, child, at+"."+k)...)
		case props != nil:
			problems = append(problems, fmt.Sprintf("%s: key %q is not in the document", at, k))
		}
	}
	return problems
}

func anySlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// checkType compares the JSON type of v with a schema's type, a string or a
// list of strings. A missing type admits anything.
func checkType(want any, v any, at string) string {
	var types []string
	switch w := want.(type) {
	case string:
		types = []string{w}
	case []any:
		for _, x := range w {
			types = append(types, x.(string))
		}
	default:
		return ""
	}

	var got string
	switch x := v.(type) {
	case nil:
		got = "null"
	case bool:
		got = "boolean"
	case string:
		got = "string"
	case float64:
		got = "number"
		if x == float64(int64(x)) && slices.Contains(types, "integer") {
			got = "integer"
		}
	case []any:
		got = "array"
	case map[string]any:
		got = "object"
	}
	if slices.Contains(types, got) || (got == "integer" && slices.Contains(types, "number")) {
		return ""
	}
	return fmt.Sprintf("%s: %s value %v, schema wants %v", at, got, v, types)
}
