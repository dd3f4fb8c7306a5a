package awsenv

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantRegion   string
		wantEndpoint string
		wantErr      string
	}{
		{name: "lambda environment", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "tok"}, wantRegion: "eu-west-1"},
		{name: "endpoint override", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, wantRegion: "us-east-1", wantEndpoint: "http://127.0.0.1:4566"},
		{name: "default region variable", env: map[string]string{"AWS_DEFAULT_REGION": "ap-south-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, wantRegion: "ap-south-1"},
		{name: "no region", env: map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, wantErr: "AWS_REGION"},
		{name: "no credentials", env: map[string]string{"AWS_REGION": "us-east-1"}, wantErr: "AWS_ACCESS_KEY_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := Config()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tt.wantRegion || aws.ToString(cfg.BaseEndpoint) != tt.wantEndpoint {
				t.Errorf("region %q endpoint %q", cfg.Region, aws.ToString(cfg.BaseEndpoint))
			}
			// As config.LoadDefaultConfig: small requests are not gzipped.
			if cfg.DisableRequestCompression || cfg.RequestMinCompressSizeBytes != 10240 {
				t.Errorf("request compression: disabled %v, min %d bytes; want the SDK's default (10240)",
					cfg.DisableRequestCompression, cfg.RequestMinCompressSizeBytes)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || creds.AccessKeyID != tt.env["AWS_ACCESS_KEY_ID"] || creds.SessionToken != tt.env["AWS_SESSION_TOKEN"] {
				t.Errorf("credentials %+v, %v", creds, err)
			}
		})
	}
}
