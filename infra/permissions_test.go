package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/app"
)

const sdkService = "github.com/aws/aws-sdk-go-v2/service/"

// iamPrefix is the IAM service prefix of each SDK service package the steps
// use, and the SDK client whose methods are the service's operations.
var iamPrefix = map[string]struct {
	prefix string
	client any
}{
	"acm":                    {"acm", &acm.Client{}},
	"cloudwatch":             {"cloudwatch", &cloudwatch.Client{}},
	"dynamodb":               {"dynamodb", &dynamodb.Client{}},
	"ec2":                    {"ec2", &ec2.Client{}},
	"elasticloadbalancingv2": {"elasticloadbalancing", &elbv2.Client{}},
	"lambda":                 {"lambda", &lambda.Client{}},
	"route53":                {"route53", &route53.Client{}},
	"sfn":                    {"states", &sfn.Client{}},
}

// implied are actions IAM checks although the code never calls them, with
// the calls that imply them (by) and why. A function making one of those
// calls must be granted the action; one granted it must make one of them.
var implied = map[string]struct {
	by  []string
	why string
}{
	// The service authorizes the tags of a create call as a separate action.
	"elasticloadbalancing:AddTags": {[]string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup",
		"elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateRule"},
		"CreateLoadBalancer/CreateTargetGroup/CreateListener/CreateRule with Tags"},
	"ec2:CreateTags":           {[]string{"ec2:CreateSecurityGroup"}, "CreateSecurityGroup with TagSpecifications"},
	"acm:AddTagsToCertificate": {[]string{"acm:RequestCertificate"}, "RequestCertificate with Tags"},
	// Elastic Load Balancing creates its service-linked role, as the
	// caller, with the account's first load balancer or target group.
	"iam:CreateServiceLinkedRole": {[]string{"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"},
		"the account's first CreateLoadBalancer/CreateTargetGroup creates AWSServiceRoleForElasticLoadBalancing"},
}

// impliedBy reports whether calls hold a call that implies action.
func impliedBy(action string, calls map[string]string) bool {
	for _, c := range implied[action].by {
		if _, ok := calls[c]; ok {
			return true
		}
	}

	return false
}

// notCalled are SDK calls the reachability walk of sdkCalls over-approximates
// (a method matched by name only) that the step never makes.
// None today; an entry needs a reason.
var notCalled = map[string]map[string]string{}

type goPackage struct {
	importPath, dir string
	goFiles         []string
}

// functionPackages lists the module's packages a function's main links in.
func functionPackages(t *testing.T, root, functionID string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}|{{.Dir}}|{{join .GoFiles \",\"}}", "./functions/"+functionID)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", functionID, err)
	}
	var pkgs []goPackage
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 3)
		if len(f) == 3 && (strings.HasPrefix(f[0], "github.com/autostop/autostop/") || strings.HasPrefix(f[0], sdkService)) {
			pkgs = append(pkgs, goPackage{importPath: f[0], dir: f[1], goFiles: strings.Split(f[2], ",")})
		}
	}

	return pkgs
}

// body is a function's code, with the imports of its file.
type body struct {
	pkg     string
	node    ast.Node
	imports map[string]string // local name → import path
}

// sdkCalls returns the IAM actions of the SDK operations a function can
// reach from its main: the <service>.<Op>Input literals in the bodies of the
// module's functions reachable by references (a function named in a
// package or imported one, a method by name in its package or the module
// packages any of its files imports: an over-approximation, never an under
// one), and
// the SDK services the function links, and the names the reachable code
// uses from SDK packages ("route53/types.ChangeActionUpsert").
// iamActions are the IAM actions whose name is not the SDK operation's.
var iamActions = map[string]string{"lambda:Invoke": "lambda:InvokeFunction"}

// iamAction is the IAM action an SDK call needs.
func iamAction(call string) string {
	if a, ok := iamActions[call]; ok {
		return a
	}

	return call
}

// sdkOperation is the SDK operation an IAM action's name stands for.
func sdkOperation(op string) string {
	for call, action := range iamActions {
		if _, a, _ := strings.Cut(action, ":"); a == op {
			_, o, _ := strings.Cut(call, ":")
			return o
		}
	}

	return op
}

func sdkCalls(t *testing.T, pkgs []goPackage, mainPkg string) (calls map[string]string, services, refs map[string]bool) {
	t.Helper()
	calls, services, refs = map[string]string{}, map[string]bool{}, map[string]bool{}
	funcs := map[string]body{}                // pkg.Name → body
	methods := map[string]map[string][]body{} // pkg → method name → bodies
	// pkgImports: every file's imports, per package: a method called through
	// an interface may be defined in a package another file of the caller's
	// package imports.
	pkgImports := map[string]map[string]bool{}
	var roots []body
	fset := token.NewFileSet()
	for _, p := range pkgs {
		if rest, ok := strings.CutPrefix(p.importPath, sdkService); ok {
			if svc, ok := iamPrefix[rest]; ok {
				services[svc.prefix] = true
			} else if !strings.Contains(rest, "/") {
				t.Errorf("%s: SDK service %s has no IAM prefix in this test", p.importPath, rest)
			}

			continue
		}
		methods[p.importPath] = map[string][]body{}
		for _, name := range p.goFiles {
			file, err := parser.ParseFile(fset, filepath.Join(p.dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			imports := map[string]string{}
			if pkgImports[p.importPath] == nil {
				pkgImports[p.importPath] = map[string]bool{}
			}
			for _, imp := range file.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				pkgImports[p.importPath][path] = true
				local := filepath.Base(path)
				if imp.Name != nil {
					local = imp.Name.Name
				}
				imports[local] = path
			}
			for _, d := range file.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					b := body{pkg: p.importPath, node: d, imports: imports}
					switch {
					case d.Recv != nil:
						methods[p.importPath][d.Name.Name] = append(methods[p.importPath][d.Name.Name], b)
					case d.Name.Name == "init" || (p.importPath == mainPkg && d.Name.Name == "main"):
						roots = append(roots, b)
					default:
						funcs[p.importPath+"."+d.Name.Name] = b
					}
				case *ast.GenDecl:
					if d.Tok == token.VAR {
						roots = append(roots, body{pkg: p.importPath, node: d, imports: imports})
					}
				}
			}
		}
	}

	seen := map[ast.Node]bool{}
	queue := roots
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		if seen[b.node] {
			continue
		}
		seen[b.node] = true
		ast.Inspect(b.node, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "Input") {
					return true
				}
				if svc, ok := iamPrefix[strings.TrimPrefix(b.imports[x.Name], sdkService)]; ok && strings.HasPrefix(b.imports[x.Name], sdkService) {
					calls[iamAction(svc.prefix+":"+strings.TrimSuffix(sel.Sel.Name, "Input"))] = b.pkg
				}
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok {
					if path, ok := b.imports[x.Name]; ok {
						if rest, ok := strings.CutPrefix(path, sdkService); ok {
							refs[rest+"."+n.Sel.Name] = true
						}
						if f, ok := funcs[path+"."+n.Sel.Name]; ok {
							queue = append(queue, f)
						}

						return true
					}
				}
				queue = append(queue, methods[b.pkg][n.Sel.Name]...)
				for path := range pkgImports[b.pkg] {
					queue = append(queue, methods[path][n.Sel.Name]...)
				}
			case *ast.Ident:
				if f, ok := funcs[b.pkg+"."+n.Name]; ok {
					queue = append(queue, f)
				}
			}

			return true
		})
	}

	return calls, services, refs
}

// TestPermissionsMatchTheCode: every function's grants are exactly the SDK
// calls its packages make (plus the tag actions IAM implies), every action
// is an operation of an SDK service the function links, and no step may
// call what its policy does not allow.
func TestPermissionsMatchTheCode(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	desc := app.Description()
	if len(Permissions) != len(desc.Functions) {
		t.Errorf("Permissions has %d functions, the app %d", len(Permissions), len(desc.Functions))
	}
	for _, f := range desc.Functions {
		t.Run(f.ID, func(t *testing.T) {
			if _, ok := Permissions[f.ID]; !ok {
				t.Fatalf("no entry in Permissions (infra/permissions.go)")
			}
			calls, services, _ := sdkCalls(t, functionPackages(t, root, f.ID), "github.com/autostop/autostop/functions/"+f.ID)
			granted := map[string]bool{}
			for _, a := range Actions(f.ID) {
				granted[a] = true
				prefix, op, _ := strings.Cut(a, ":")
				_, isImplied := implied[a]
				if !services[prefix] && !isImplied {
					t.Errorf("%s: the function links no SDK client of %s (links %v)", a, prefix, sortedKeys(services))
				}
				for _, svc := range iamPrefix {
					if svc.prefix == prefix {
						if _, ok := reflect.TypeOf(svc.client).MethodByName(sdkOperation(op)); !ok {
							t.Errorf("%s: %T has no operation %s", a, svc.client, op)
						}
					}
				}
				if _, called := calls[a]; !called && !impliedBy(a, calls) {
					t.Errorf("%s is granted but the code never calls it (nor a call that implies it)", a)
				}
			}
			for a := range implied {
				if impliedBy(a, calls) && !granted[a] {
					t.Errorf("%s is not granted, but the code calls one of %v: %s", a, implied[a].by, implied[a].why)
				}
			}
			for a, where := range calls {
				if !granted[a] && notCalled[f.ID][a] == "" {
					t.Errorf("%s (called in %s) is not granted", a, where)
				}
			}
			for a := range notCalled[f.ID] {
				if _, ok := calls[a]; !ok {
					t.Errorf("notCalled lists %s, which the code does not hold: remove it", a)
				}
			}
		})
	}
}

// TestGrantsCarryTagConditions: creates require the autostop tag on the
// request, deletes and modifications on the resource, wherever the service
// supports tag conditions; no action is a wildcard; a wildcard resource has
// a reason.
func TestGrantsCarryTagConditions(t *testing.T) {
	// DynamoDB grants name the one table; iam:CreateServiceLinkedRole names
	// the one role (and its service, iam:AWSServiceName).
	noTagSupport := map[string]bool{"route53": true, "lambda": true, "states": true, "dynamodb": true, "iam": true}
	for id, grants := range Permissions {
		for _, g := range grants {
			for _, a := range g.Actions {
				prefix, op, _ := strings.Cut(a, ":")
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %s", id, a)
				}
				if noTagSupport[prefix] {
					continue
				}
				switch {
				case strings.HasPrefix(op, "Create"), op == "RequestCertificate", op == "AddTags", op == "AddTagsToCertificate":
					// ec2:CreateSecurityGroup also authorizes the VPC it is
					// created in: the request's tags are the group's. A tag
					// added to an existing resource of autostop's needs the
					// resource's tag and names the keys it may add.
					if g.Tag != RequestTag && !(a == "ec2:CreateSecurityGroup" && reflect.DeepEqual(g.Resources, []string{vpcs})) &&
						!(op == "AddTags" && g.Tag == ResourceTag && len(g.TagKeys) > 0) {
						t.Errorf("%s: %s without an aws:RequestTag condition", id, a)
					}
				case strings.HasPrefix(op, "Delete"), strings.HasPrefix(op, "Modify"), strings.HasPrefix(op, "Deregister"),
					strings.HasPrefix(op, "Register"), strings.HasPrefix(op, "Authorize"),
					op == "StartInstances", op == "StopInstances":
					if g.Tag != ResourceTag {
						t.Errorf("%s: %s without an aws:ResourceTag condition", id, a)
					}
				}
			}
			for _, r := range g.Resources {
				if strings.Contains(r, "*") && g.Why == "" {
					t.Errorf("%s: %v on %s has no reason (Grant.Why)", id, g.Actions, r)
				}
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}

// TestPermissionTablesDisjoint: each function's grants live in one table.
func TestPermissionTablesDisjoint(t *testing.T) {
	seen := map[string]int{}
	for i, table := range grantTables {
		for id := range table {
			if j, ok := seen[id]; ok {
				t.Errorf("function %s has grants in tables %d and %d", id, j, i)
			}
			seen[id] = i
		}
	}
}
