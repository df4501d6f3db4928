package ecr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol"
	"github.com/slipwayhq/slipway/internal/localcloud/protocol/prototest"
)

var start = time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)

// newClient serves svc through the real router, registered as the endpoint
// registers ECR; the client signs for the service's region.
func newClient(t *testing.T, svc *Service) *awsecr.Client {
	t.Helper()
	router := localcloud.NewServer(localcloud.Options{})
	router.RegisterJSON("ecr", "AmazonEC2ContainerRegistry_V20150921", "1.1", svc)
	cfg := prototest.Config(prototest.Serve(t, router))
	cfg.Region = "eu-west-1"
	return awsecr.NewFromConfig(cfg)
}

func newService(events protocol.EventSink) *Service {
	return New(Options{Clock: clock.NewVirtual(start), Region: "eu-west-1", Events: events})
}

const manifestV1 = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":100,"digest":"sha256:aa"},"layers":[{"size":1000}]}`
const manifestV2 = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":200,"digest":"sha256:bb"},"layers":[{"size":2000}]}`

func TestRepositories(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, newService(nil))
	out, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	if err != nil {
		t.Fatal(err)
	}
	want := types.Repository{
		RepositoryArn:              aws.String("arn:aws:ecr:eu-west-1:000000000000:repository/team/web"),
		RegistryId:                 aws.String("000000000000"),
		RepositoryName:             aws.String("team/web"),
		RepositoryUri:              aws.String("000000000000.dkr.ecr.eu-west-1.amazonaws.com/team/web"),
		CreatedAt:                  aws.Time(start),
		ImageTagMutability:         types.ImageTagMutabilityMutable,
		ImageScanningConfiguration: &types.ImageScanningConfiguration{},
		EncryptionConfiguration:    &types.EncryptionConfiguration{EncryptionType: types.EncryptionTypeAes256},
	}
	opts := cmp.Options{cmp.AllowUnexported(types.Repository{}, types.ImageScanningConfiguration{}, types.EncryptionConfiguration{}),
		cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
	if diff := cmp.Diff(want, *out.Repository, opts...); diff != "" {
		t.Errorf("created repository (-want +got):\n%s", diff)
	}
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("worker")}); err != nil {
		t.Fatal(err)
	}

	_, err = c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")})
	var exists *types.RepositoryAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("create twice: got %v, want RepositoryAlreadyExistsException", err)
	}
	_, err = c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("Bad Name")})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Errorf("bad name: got %v, want InvalidParameterException", err)
	}

	all, err := c.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range all.Repositories {
		names = append(names, aws.ToString(r.RepositoryName))
	}
	if diff := cmp.Diff([]string{"team/web", "worker"}, names); diff != "" {
		t.Errorf("DescribeRepositories (-want +got):\n%s", diff)
	}
	// Paged one at a time.
	var paged []string
	p := awsecr.NewDescribeRepositoriesPaginator(c, &awsecr.DescribeRepositoriesInput{MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Repositories {
			paged = append(paged, aws.ToString(r.RepositoryName))
		}
	}
	if diff := cmp.Diff(names, paged); diff != "" {
		t.Errorf("paged repositories (-want +got):\n%s", diff)
	}

	_, err = c.DescribeRepositories(ctx, &awsecr.DescribeRepositoriesInput{RepositoryNames: []string{"missing"}})
	var notFound *types.RepositoryNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("describe missing: got %v, want RepositoryNotFoundException", err)
	}

	if _, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("worker"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("worker")})
	var notEmpty *types.RepositoryNotEmptyException
	if !errors.As(err, &notEmpty) {
		t.Errorf("delete non-empty: got %v, want RepositoryNotEmptyException", err)
	}
	if _, err := c.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("worker"), Force: true}); err != nil {
		t.Errorf("force delete: %v", err)
	}
	_, err = c.DeleteRepository(ctx, &awsecr.DeleteRepositoryInput{RepositoryName: aws.String("worker")})
	if !errors.As(err, &notFound) {
		t.Errorf("delete deleted: got %v, want RepositoryNotFoundException", err)
	}
}

func TestPushAndDescribe(t *testing.T) {
	ctx := context.Background()
	events := &prototest.Events{}
	c := newClient(t, newService(events))
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	d1 := sha256Digest([]byte(manifestV1))
	d2 := sha256Digest([]byte(manifestV2))

	put, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(put.Image.ImageId.ImageDigest); got != d1 {
		t.Errorf("digest: got %s, want %s", got, d1)
	}
	// The same manifest and tag again is refused, as by ECR.
	_, err = c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("v1")})
	var already *types.ImageAlreadyExistsException
	if !errors.As(err, &already) {
		t.Errorf("repeat push: got %v, want ImageAlreadyExistsException", err)
	}
	// Tag "latest" on v1, then move it to v2.
	for _, in := range []*awsecr.PutImageInput{
		{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("latest")},
		{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2), ImageTag: aws.String("latest")},
	} {
		if _, err := c.PutImage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}

	byTag, err := c.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("latest")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byTag.ImageDetails) != 1 || aws.ToString(byTag.ImageDetails[0].ImageDigest) != d2 || aws.ToInt64(byTag.ImageDetails[0].ImageSizeInBytes) != 2200 {
		t.Errorf("describe latest: got %+v, want digest %s size 2200", byTag.ImageDetails, d2)
	}
	byDigest, err := c.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageDigest: aws.String(d1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"v1"}, byDigest.ImageDetails[0].ImageTags); diff != "" {
		t.Errorf("tags of v1 after latest moved (-want +got):\n%s", diff)
	}
	_, err = c.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v9")}}})
	var notFound *types.ImageNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("describe missing tag: got %v, want ImageNotFoundException", err)
	}
	_, err = c.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("nope")})
	var noRepo *types.RepositoryNotFoundException
	if !errors.As(err, &noRepo) {
		t.Errorf("describe in missing repository: got %v, want RepositoryNotFoundException", err)
	}
	all, err := c.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(all.ImageDetails) != 2 {
		t.Errorf("describe all: got %d images, %v; want 2", len(all.ImageDetails), err)
	}

	got, err := c.BatchGetImage(ctx, &awsecr.BatchGetImageInput{RepositoryName: aws.String("web"),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("nope")}, {ImageTag: aws.String("latest"), ImageDigest: aws.String(d1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 1 || aws.ToString(got.Images[0].ImageManifest) != manifestV1 {
		t.Errorf("BatchGetImage images: got %+v, want the v1 manifest", got.Images)
	}
	var codes []types.ImageFailureCode
	for _, f := range got.Failures {
		codes = append(codes, f.FailureCode)
	}
	if diff := cmp.Diff([]types.ImageFailureCode{types.ImageFailureCodeImageNotFound, types.ImageFailureCodeImageTagDoesNotMatchDigest}, codes); diff != "" {
		t.Errorf("BatchGetImage failures (-want +got):\n%s", diff)
	}

	list, err := c.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range list.ImageIds {
		ids = append(ids, aws.ToString(id.ImageTag)+"@"+aws.ToString(id.ImageDigest))
	}
	if diff := cmp.Diff([]string{"latest@" + d2, "v1@" + d1}, slices.Sorted(slices.Values(ids))); diff != "" {
		t.Errorf("ListImages (-want +got):\n%s", diff)
	}

	// Events: one per successful push, tag and digest as ECR reports them.
	evs := events.All()
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	wantFirst := protocol.Event{Source: "aws.ecr", DetailType: "ECR Image Action", Resources: []string{}, Detail: map[string]any{
		"result": "SUCCESS", "repository-name": "web", "image-digest": d1, "action-type": "PUSH", "image-tag": "v1",
		"manifest-media-type": "application/vnd.oci.image.manifest.v1+json", "artifact-media-type": "application/vnd.oci.image.config.v1+json",
	}}
	if diff := cmp.Diff(wantFirst, evs[0]); diff != "" {
		t.Errorf("first event (-want +got):\n%s", diff)
	}
}

func TestPutImageErrors(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, newService(nil))
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web"), ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		in   awsecr.PutImageInput
		want string
	}{
		"immutable tag":      {in: awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2), ImageTag: aws.String("v1")}, want: "ImageTagAlreadyExistsException"},
		"missing repository": {in: awsecr.PutImageInput{RepositoryName: aws.String("nope"), ImageManifest: aws.String(manifestV1)}, want: "RepositoryNotFoundException"},
		"not JSON":           {in: awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String("{")}, want: "InvalidParameterException"},
		"digest mismatch":    {in: awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2), ImageDigest: aws.String("sha256:" + strings.Repeat("0", 64))}, want: "ImageDigestDoesNotMatchException"},
		"bad tag":            {in: awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2), ImageTag: aws.String("-bad tag")}, want: "InvalidParameterException"},
		"media type conflict": {in: awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2),
			ImageManifestMediaType: aws.String("application/vnd.docker.distribution.manifest.v2+json")}, want: "InvalidParameterException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.PutImage(ctx, &tc.in)
			if got := prototest.ErrorCode(err); got != tc.want {
				t.Errorf("got %q (%v), want %s", got, err, tc.want)
			}
		})
	}
}

func TestListFiltersAndDelete(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, newService(nil))
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	d1 := sha256Digest([]byte(manifestV1))
	for _, in := range []*awsecr.PutImageInput{
		{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1)},
		{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV2), ImageTag: aws.String("v2")},
	} {
		if _, err := c.PutImage(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	untagged, err := c.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("web"), Filter: &types.ListImagesFilter{TagStatus: types.TagStatusUntagged}})
	if err != nil {
		t.Fatal(err)
	}
	if len(untagged.ImageIds) != 1 || aws.ToString(untagged.ImageIds[0].ImageDigest) != d1 || untagged.ImageIds[0].ImageTag != nil {
		t.Errorf("untagged: got %+v, want only %s", untagged.ImageIds, d1)
	}
	del, err := c.BatchDeleteImage(ctx, &awsecr.BatchDeleteImageInput{RepositoryName: aws.String("web"),
		ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v2")}, {ImageDigest: aws.String(d1)}, {ImageTag: aws.String("gone")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(del.ImageIds) != 2 || len(del.Failures) != 1 {
		t.Errorf("BatchDeleteImage: got %d deleted, %d failures; want 2, 1", len(del.ImageIds), len(del.Failures))
	}
	left, err := c.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(left.ImageIds) != 0 {
		t.Errorf("after delete: got %+v, %v; want none", left.ImageIds, err)
	}
	_, err = c.ListImages(ctx, &awsecr.ListImagesInput{RepositoryName: aws.String("web"), NextToken: aws.String("!!")})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Errorf("bad token: got %v, want InvalidParameterException", err)
	}
}

func TestGetAuthorizationToken(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, newService(nil))
	out, err := c.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AuthorizationData) != 1 {
		t.Fatalf("got %d logins, want 1", len(out.AuthorizationData))
	}
	d := out.AuthorizationData[0]
	if got, want := aws.ToString(d.AuthorizationToken), "QVdTOnNsaXB3YXktbG9jYWw="; got != want {
		t.Errorf("token: got %s, want base64 of AWS:slipway-local %s", got, want)
	}
	if got, want := aws.ToTime(d.ExpiresAt), start.Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("expiresAt: got %v, want %v", got, want)
	}
	if got, want := aws.ToString(d.ProxyEndpoint), "https://000000000000.dkr.ecr.eu-west-1.amazonaws.com"; got != want {
		t.Errorf("proxyEndpoint: got %s, want %s", got, want)
	}
	_, err = c.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{RegistryIds: []string{"123456789012"}})
	if got := prototest.ErrorCode(err); got != "InvalidParameterException" {
		t.Errorf("foreign registry: got %q (%v), want InvalidParameterException", got, err)
	}
}

func TestUnknownOperationAndMalformedBody(t *testing.T) {
	svc := newService(nil)
	tests := map[string]struct {
		op, body string
		want     string
	}{
		"unknown op":   {op: "GetAuthorizationTokenX", body: "{}", want: protocol.CodeUnknownOperation},
		"malformed":    {op: "CreateRepository", body: "{", want: protocol.CodeSerialization},
		"wrong type":   {op: "PutImage", body: `{"repositoryName":1}`, want: protocol.CodeSerialization},
		"missing name": {op: "DescribeImages", body: `{}`, want: "InvalidParameterException"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := svc.ServeJSON(context.Background(), tc.op, []byte(tc.body))
			var e *protocol.Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	svc := newService(nil)
	c := newClient(t, svc)
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("web"), ImageManifest: aws.String(manifestV1), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	snap, err := svc.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	restored := newService(nil)
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, restored)
	out, err := c2.DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || aws.ToString(out.ImageDetails[0].ImageDigest) != sha256Digest([]byte(manifestV1)) {
		t.Errorf("restored image: got %+v, %v", out, err)
	}
	for name, bad := range map[string]string{
		"not JSON":     `[`,
		"misnamed":     `{"repositories":{"web":{"name":"other"}}}`,
		"wrong digest": `{"repositories":{"web":{"name":"web","images":{"sha256:00":{"digest":"sha256:00","manifest":"{}"}}}}}`,
		"dangling tag": `{"repositories":{"web":{"name":"web","imageTags":{"v1":"sha256:00"}}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := newService(nil).Restore([]byte(bad)); err == nil {
				t.Errorf("got nil error, want a restore error")
			}
		})
	}
}

func FuzzServeJSON(f *testing.F) {
	for _, op := range []string{"CreateRepository", "PutImage", "BatchGetImage", "DescribeImages", "ListImages", "BatchDeleteImage", "DescribeRepositories", "DeleteRepository"} {
		f.Add(op, `{"repositoryName":"web","imageManifest":"{}","imageTag":"v1","imageIds":[{"imageTag":"v1"}],"maxResults":1,"nextToken":"MQ"}`)
	}
	f.Fuzz(func(t *testing.T, op, body string) {
		svc := newService(nil)
		_, _ = svc.ServeJSON(context.Background(), "CreateRepository", []byte(`{"repositoryName":"web"}`))
		_, _ = svc.ServeJSON(context.Background(), "PutImage", []byte(`{"repositoryName":"web","imageManifest":"{}","imageTag":"v1"}`))
		_, _ = svc.ServeJSON(context.Background(), op, []byte(body))
	})
}

// TestPull checks what ECS may pull: a pushed digest or tag of an existing
// repository, nothing else.
func TestPull(t *testing.T) {
	ctx := context.Background()
	svc := newService(nil)
	c := newClient(t, svc)
	if _, err := c.CreateRepository(ctx, &awsecr.CreateRepositoryInput{RepositoryName: aws.String("team/web")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.PutImage(ctx, &awsecr.PutImageInput{RepositoryName: aws.String("team/web"), ImageTag: aws.String("v1"),
		ImageManifest: aws.String(manifestV1)})
	if err != nil {
		t.Fatal(err)
	}
	digest := aws.ToString(out.Image.ImageId.ImageDigest)
	if got, want := svc.RegistryHost(), "000000000000.dkr.ecr.eu-west-1.amazonaws.com"; got != want {
		t.Errorf("got registry host %s, want %s", got, want)
	}
	tests := map[string]struct {
		repository, reference string
		want                  error
	}{
		"pushed digest":      {"team/web", digest, nil},
		"pushed tag":         {"team/web", "v1", nil},
		"unknown digest":     {"team/web", "sha256:" + strings.Repeat("0", 64), ErrImageNotFound},
		"unknown tag":        {"team/web", "v2", ErrImageNotFound},
		"unknown repository": {"team/api", digest, ErrRepositoryNotFound},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := svc.Pull(tc.repository, tc.reference); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}
