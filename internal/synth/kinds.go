package synth

// FunctionTag is the tag the CDK app puts on every Slipway function; its value
// is the function's kind. The resolver reads it to tell which logical ID is
// which function, whatever name the function was given.
const FunctionTag = "slipway:function"

// FunctionKind names one of Slipway's Lambda functions; functions/<kind> holds
// its main and build/<kind>/bootstrap its binary.
type FunctionKind string

// The Slipway functions.
const (
	// KindECRPush starts deployments when an image is pushed to ECR.
	KindECRPush FunctionKind = "ecr-push"
	// KindSpecUpload validates uploaded specs and starts deployments.
	KindSpecUpload FunctionKind = "spec-upload"
	// KindSignal completes waiting tasks on alarm and ECS events.
	KindSignal FunctionKind = "signal"
	// KindStep runs the phases of the deploy state machine.
	KindStep FunctionKind = "step"
)

// Kinds lists every function kind.
func Kinds() []FunctionKind {
	return []FunctionKind{KindECRPush, KindSpecUpload, KindSignal, KindStep}
}

// Valid reports whether k is one of Kinds.
func (k FunctionKind) Valid() bool {
	for _, x := range Kinds() {
		if k == x {
			return true
		}
	}
	return false
}
