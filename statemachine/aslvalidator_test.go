package statemachine

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
)

// TestDefinitionsPassASLValidator checks every state machine of the app, as
// deployed (substitutions applied), with the asl-validator npm package: kumo
// accepts invalid definitions (gap 7), AWS does not. `make tools` installs
// the validator into .build/npm.
func TestDefinitionsPassASLValidator(t *testing.T) {
	root, err := localaws.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	validator := filepath.Join(root, ".build", "npm", "node_modules", ".bin", "asl-validator")
	if _, err := os.Stat(validator); err != nil {
		t.Fatalf("asl-validator not installed (run `make tools`): %v", err)
	}

	a := app.Description()
	for _, sm := range a.StateMachines {
		asl, err := sm.ReadASL(root)
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]string{}
		for k, v := range sm.Substitutions {
			switch {
			case v.FunctionARN != "":
				values[k] = "arn:aws:lambda:us-east-1:123456789012:function:" + app.NamePrefix + v.FunctionARN
			case v.StateMachine != "":
				values[k] = "arn:aws:states:us-east-1:123456789012:stateMachine:" + app.NamePrefix + v.StateMachine
			default:
				values[k] = v.Literal
			}
		}
		def, err := app.Substitute(asl, values)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), sm.ID+".json")
		if err := os.WriteFile(path, []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(validator, "--json-path", path).CombinedOutput(); err != nil {
			t.Errorf("%s does not pass asl-validator: %v\n%s", sm.ASLFile, err, out)
		}
	}
}
