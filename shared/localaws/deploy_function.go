package localaws

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// LambdaRoleARN is the execution role local functions are created with; kumo
// does not evaluate IAM.
const LambdaRoleARN = "arn:aws:iam::" + AccountID + ":role/autostop-local"

// FunctionConfig is what the Lambda service stores about a function.
type FunctionConfig struct {
	Name        string
	Description string
	TimeoutSec  int32
	MemoryMB    int32
	Env         map[string]string
	Tags        map[string]string
	// MaxProcesses is the function's local concurrency (see
	// FunctionProcess.MaxProcesses).
	MaxProcesses int
}

// DeployFunction creates the function in kumo (or leaves an existing one) and
// starts its process. The code kumo stores is a small zip holding the
// SHA-256 of the bootstrap, not the binary itself: the process runs the
// binary, and the digest makes CodeSha256 change exactly when the binary does.
func (b *Backend) DeployFunction(ctx context.Context, cfg FunctionConfig, binary string) error {
	awsCfg, err := b.AWSConfig(ctx)
	if err != nil {
		return err
	}

	code, err := codeStub(binary)
	if err != nil {
		return err
	}

	client := lambda.NewFromConfig(awsCfg)
	_, err = client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName:  aws.String(cfg.Name),
		Description:   aws.String(cfg.Description),
		Role:          aws.String(LambdaRoleARN),
		Runtime:       lambdatypes.RuntimeProvidedal2023,
		Handler:       aws.String("bootstrap"),
		Architectures: []lambdatypes.Architecture{lambdatypes.ArchitectureArm64},
		Timeout:       aws.Int32(cfg.TimeoutSec),
		MemorySize:    aws.Int32(cfg.MemoryMB),
		Environment:   &lambdatypes.Environment{Variables: cfg.Env},
		Tags:          cfg.Tags,
		Code:          &lambdatypes.FunctionCode{ZipFile: code},
	})
	var exists *lambdatypes.ResourceConflictException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create function %s: %w", cfg.Name, err)
	}
	// A new function is Pending for a while (with realistic timing, patch
	// 0026) and refuses invocations meanwhile, as on AWS: deployed means
	// Active.
	if err := lambda.NewFunctionActiveV2Waiter(client, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, time.Second
	}).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(cfg.Name)}, time.Minute); err != nil {
		return fmt.Errorf("wait for function %s to be active: %w", cfg.Name, err)
	}

	return b.StartFunction(ctx, FunctionProcess{Name: cfg.Name, Binary: binary, Env: cfg.Env, MemoryMB: int(cfg.MemoryMB), MaxProcesses: cfg.MaxProcesses})
}

// codeStub returns a zip with one file, bootstrap.sha256.
func codeStub(binary string) ([]byte, error) {
	f, err := os.Open(binary)
	if err != nil {
		return nil, fmt.Errorf("open function binary: %w", err)
	}
	defer f.Close()

	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", binary, err)
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("bootstrap.sha256")
	if err != nil {
		return nil, fmt.Errorf("zip code stub: %w", err)
	}
	if _, err := io.WriteString(w, hex.EncodeToString(h.Sum(nil))+"\n"); err != nil {
		return nil, fmt.Errorf("zip code stub: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("zip code stub: %w", err)
	}

	return buf.Bytes(), nil
}
