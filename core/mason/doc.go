// Package mason builds virtual resources (clusters) from physical ones
// (accounts, projects): boskos-api.md §6, upstream's Mason, as one workflow
// per virtual resource.
//
// A dynamic type whose config.type names a converter of the Registry is
// virtual: its dirty resources are Mason's. The Dispatcher (a scheduled
// job) claims them (dirty → cleaning, owner Owner) and starts one
// execution per resource of the workflow Document, an Amazon States
// Language document (workflow.asl.json), named ExecutionName(resource,
// epoch) so that a duplicated event never starts two. The document's Task
// states are the steps of Workflow, each one idempotent function over the
// store (core/ranch's virtual-resource use cases, each one transaction):
//
//	Recycle         the previous construction's physical resources → dirty
//	Fulfill         every need at once or none; Wait and try again
//	Construct       the converter's userdata onto the virtual resource
//	Free            the virtual resource free, each physical one parked
//	                unowned in the state named after it
//	GarbageCollect  on any failure: everything → dirty, the reason kept
//	                under the userdata key masonError
//
// In AWS, Step Functions runs the document and each Task is a Lambda
// function (functions/mason-*); in `boskos serve`, Local runs it in
// process with core/asl, the Task states mapped to the same steps.
//
// A step repeated with the same input (a retried invocation whose answer
// was lost, a workflow started again after a crash) finds its work done or
// does it once; a claim that no longer holds (the resource was reaped or
// claimed again) fails the step with ErrClaimLost and releases nothing of
// the newer holder's. Physical resources being built on are leased by
// Owner in state leased and remember which virtual resource they are for,
// so one construction never releases another's. Constructions waiting for
// their needs hold nothing, so they neither starve other types nor
// deadlock each other.
package mason
