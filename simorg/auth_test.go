package simorg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestCredentialsAreChecked(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	good := assume(t, srv, "333333333333")
	wrongSecret := good
	// Another first character: the issued secret is random and may itself
	// start with any one letter.
	wrongSecret.SecretAccessKey = "x" + good.SecretAccessKey[1:]
	if good.SecretAccessKey[0] == 'x' {
		wrongSecret.SecretAccessKey = "y" + good.SecretAccessKey[1:]
	}
	wrongToken := good
	wrongToken.SessionToken = good.SessionToken + "x"
	noToken := good
	noToken.SessionToken = ""
	unknown := aws.Credentials{AccessKeyID: "AKIAUNKNOWN000000000", SecretAccessKey: "s"}
	mgmtWrongSecret := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey + "x"}

	tests := []struct {
		name  string
		creds aws.Credentials
		call  func(aws.Config) error
		want  string
	}{
		{"ECS with the issued credentials", good, ecsCall, ""},
		{"ECS with a wrong secret", wrongSecret, ecsCall, "InvalidSignatureException"},
		{"ECS with a wrong session token", wrongToken, ecsCall, "UnrecognizedClientException"},
		{"ECS without the session token", noToken, ecsCall, "UnrecognizedClientException"},
		{"ECS with an unknown key", unknown, ecsCall, "UnrecognizedClientException"},
		{"STS with a wrong secret", wrongSecret, stsCall, "SignatureDoesNotMatch"},
		{"STS with an unknown key", unknown, stsCall, "InvalidClientTokenId"},
		{"EC2 with a wrong secret", wrongSecret, ec2Call, "AuthFailure"},
		{"Organizations with a wrong secret", mgmtWrongSecret, orgsCall, "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(sdkConfig(t, srv, "us-east-1", tt.creds, noRetries))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.want)
		})
	}
}

func ecsCall(cfg aws.Config) error {
	_, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
	return err
}

func stsCall(cfg aws.Config) error {
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	return err
}

func ec2Call(cfg aws.Config) error {
	_, err := ec2.NewFromConfig(cfg).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	return err
}

func orgsCall(cfg aws.Config) error {
	_, err := organizations.NewFromConfig(cfg).ListRoots(context.Background(), &organizations.ListRootsInput{})
	return err
}

// TestRawRequests sends hand-made requests: the signature must cover the
// body, the scope must name the service, and a request must be signed.
func TestRawRequests(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	const target = "AWSOrganizationsV20161128.ListRoots"
	tests := []struct {
		name       string
		service    string // signing name; "" leaves the request unsigned
		body       string // sent; the signature covers "{}"
		wantStatus int
		wantType   string
	}{
		{"signed", "organizations", "{}", 200, ""},
		{"body changed after signing", "organizations", `{"MaxResults":1}`, 400, "InvalidSignatureException"},
		{"scoped to another service", "ecs", "{}", 400, "InvalidSignatureException"},
		{"unsigned", "", "{}", 403, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if tt.service != "" {
				sum := sha256.Sum256([]byte("{}"))
				creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
				req.ContentLength = 2
				if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), tt.service, "us-east-1", time.Now()); err != nil {
					t.Fatal(err)
				}
				req.ContentLength = int64(len(tt.body))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("X-Amzn-ErrorType") != tt.wantType {
				t.Errorf("status %d, X-Amzn-ErrorType %q, body %s; want %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b, tt.wantStatus, tt.wantType)
			}
			if tt.wantType != "" && !strings.Contains(string(b), `"__type":"`+tt.wantType+`"`) {
				t.Errorf("body %s lacks __type %s", b, tt.wantType)
			}
		})
	}
}

func TestUnknownOperation(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("status %d, type %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}
