/// The static part of each dashboard page: headings, forms and the empty regions its module fills. Nothing here
/// holds data: every value reaches the page through the API and is put in as text.
extension CohortAPI {
    static func shell(_ page: AppPage) -> String {
        switch page {
        case .customers:
            """
            <h2 class="h4">Customers</h2>
            <form class="row g-2 mb-3" id="filters" role="search">
            <div class="col-12 col-md-5"><label class="form-label small" for="q">Search id, name or e-mail</label>
            <input class="form-control" id="q" type="search" maxlength="256" autocomplete="off"></div>
            <div class="col-6 col-md-3"><label class="form-label small" for="city">City</label>
            <select class="form-select" id="city"><option value="">any</option></select></div>
            <div class="col-6 col-md-2"><label class="form-label small" for="tag">Tag</label>
            <select class="form-select" id="tag"><option value="">any</option></select></div>
            <div class="col-12 col-md-2 d-flex align-items-end"><button class="btn btn-primary w-100" type="submit"
            id="search">Search</button></div></form>
            <div class="table-responsive"><table class="table table-sm table-hover bg-white" id="customers">
            <thead><tr><th>id</th><th>name</th><th class="d-none d-md-table-cell">e-mail</th>
            <th class="d-none d-sm-table-cell">city</th>
            <th class="d-none d-md-table-cell">tags</th><th class="text-end">orders</th>
            <th class="text-end">total spend</th></tr></thead><tbody></tbody></table></div>
            <div class="d-flex gap-2"><button class="btn btn-outline-secondary btn-sm" id="first" disabled>First page
            </button><button class="btn btn-outline-secondary btn-sm" id="next" disabled>Next page</button>
            <span class="small text-muted align-self-center" id="status" aria-live="polite"></span></div>
            """
        case .customer:
            """
            <div id="problem" class="alert alert-warning" hidden></div>
            <h2 class="h4" id="customer-name"></h2>
            <div class="row g-3">
            <div class="col-12 col-lg-5"><div class="card"><div class="card-body">
            <h3 class="h6">Profile</h3><dl class="row small mb-0" id="profile"></dl></div></div>
            <div class="card mt-3"><div class="card-body"><h3 class="h6">In saved segments</h3>
            <ul class="small mb-0" id="segments"></ul></div></div>
            <div class="card mt-3"><div class="card-body"><h3 class="h6">Messages</h3>
            <div class="table-responsive"><table class="table table-sm small mb-0" id="messages"><thead><tr>
            <th>campaign</th><th>status</th><th>message</th></tr></thead><tbody></tbody></table></div></div></div>
            </div>
            <div class="col-12 col-lg-7"><div class="card"><div class="card-body"><h3 class="h6">Timeline</h3>
            <ol class="list-group list-group-flush small" id="timeline"></ol>
            <button class="btn btn-outline-secondary btn-sm mt-2" id="older" hidden>Older events</button>
            </div></div></div></div>
            """
        case .segments:
            """
            <div class="d-flex justify-content-between align-items-center mb-2"><h2 class="h4 mb-0">Segments</h2>
            <a class="btn btn-primary btn-sm" id="new-segment" href="/segments/new">New segment</a></div>
            <div class="table-responsive"><table class="table table-sm bg-white" id="segment-list"><thead><tr>
            <th>name</th><th class="text-end">customers</th><th>rule</th><th class="d-none d-md-table-cell">saved</th>
            </tr></thead><tbody></tbody></table></div>
            """
        case .builder:
            """
            <h2 class="h4" id="builder-title">New segment</h2>
            <div id="problem" class="alert alert-warning" hidden></div>
            <div class="row g-3">
            <div class="col-12 col-lg-8">
            <div class="card mb-3"><div class="card-body">
            <label class="form-label small" for="nl-text">Describe the audience in words</label>
            <div class="input-group"><input class="form-control" id="nl-text" maxlength="2000"
            placeholder="Mumbai VIPs who spent over 5,000 and haven't ordered in 90 days">
            <button class="btn btn-outline-primary" id="nl-apply" type="button">Make rule</button></div>
            <div class="small text-muted mt-1" id="nl-status" aria-live="polite"></div></div></div>
            <div id="rule-root" aria-label="Rule"></div>
            </div>
            <div class="col-12 col-lg-4"><div class="card sticky-lg-top"><div class="card-body">
            <div class="text-muted small">Audience</div>
            <div class="display-6" id="count" aria-live="polite">—</div>
            <div class="small text-muted" id="took"></div>
            <p class="small mt-2" id="english"></p>
            <h3 class="h6">Sample</h3><ul class="small" id="sample"></ul>
            <h3 class="h6">Why is a customer in or out?</h3>
            <div class="input-group input-group-sm"><input class="form-control" id="explain-id" maxlength="128"
            placeholder="customer id" aria-label="customer id"><button class="btn btn-outline-secondary"
            id="explain" type="button">Explain</button></div>
            <div class="small mt-2" id="explain-result"></div>
            <hr><label class="form-label small" for="seg-name">Name</label>
            <input class="form-control form-control-sm" id="seg-name" maxlength="256">
            <label class="form-label small mt-2" for="seg-description">Description</label>
            <input class="form-control form-control-sm" id="seg-description" maxlength="1000">
            <div class="d-flex flex-wrap gap-2 mt-2"><button class="btn btn-primary btn-sm" id="save" type="button">
            Save</button><button class="btn btn-outline-danger btn-sm" id="delete" type="button" hidden>Delete
            </button><a class="btn btn-outline-secondary btn-sm" id="csv" hidden>Export CSV</a>
            <a class="btn btn-outline-secondary btn-sm" id="to-campaign" hidden>New campaign</a></div>
            <div class="small mt-2" id="save-status" aria-live="polite"></div>
            </div></div></div></div>
            """
        case .campaigns:
            """
            <div class="d-flex justify-content-between align-items-center mb-2"><h2 class="h4 mb-0">Campaigns</h2>
            <a class="btn btn-primary btn-sm" id="new-campaign" href="/campaigns/new">New campaign</a></div>
            <div class="table-responsive"><table class="table table-sm bg-white" id="campaign-list"><thead><tr>
            <th>name</th><th>status</th><th class="text-end">audience</th><th class="text-end">sent</th>
            <th class="text-end">failed</th><th class="text-end">delivered</th><th class="text-end">opened</th>
            <th>progress</th></tr></thead><tbody></tbody></table></div>
            """
        case .newCampaign:
            """
            <h2 class="h4">New campaign</h2>
            <div id="problem" class="alert alert-warning" hidden></div>
            <form id="campaign-form" class="row g-3" novalidate>
            <div class="col-12 col-lg-7">
            <label class="form-label small" for="c-name">Name</label>
            <input class="form-control" id="c-name" maxlength="256" required>
            <div class="row g-2 mt-1"><div class="col-6"><label class="form-label small" for="c-segment">Audience
            </label><select class="form-select" id="c-segment"></select></div>
            <div class="col-6"><label class="form-label small" for="c-channel">Channel</label>
            <select class="form-select" id="c-channel"><option>email</option><option>sms</option>
            <option>whatsapp</option></select></div></div>
            <label class="form-label small mt-2" for="c-template">Message</label>
            <textarea class="form-control" id="c-template" rows="4" maxlength="4096" required></textarea>
            <div class="small text-muted mt-1">Variables: <span id="c-variables"></span></div>
            <div class="d-flex flex-wrap gap-2 mt-2"><button class="btn btn-outline-secondary btn-sm" type="button"
            id="c-suggest">Suggest messages</button><span class="small align-self-center" id="c-suggest-status">
            </span></div><ul class="small mt-2" id="c-suggestions"></ul>
            </div>
            <div class="col-12 col-lg-5"><div class="card"><div class="card-body">
            <h3 class="h6">Preview <span class="text-muted small" id="c-audience"></span></h3>
            <ul class="list-group list-group-flush small" id="c-previews"></ul></div></div>
            <div class="d-flex gap-2 mt-3"><button class="btn btn-primary" type="submit" id="c-create">Create draft
            </button><button class="btn btn-success" type="button" id="c-launch" disabled>Launch…</button></div>
            <div class="alert alert-info mt-3" id="c-confirm" hidden role="alertdialog" aria-labelledby="c-confirm-text">
            <p id="c-confirm-text" class="mb-2"></p><button class="btn btn-success btn-sm" type="button"
            id="c-confirm-yes">Send now</button> <button class="btn btn-outline-secondary btn-sm" type="button"
            id="c-confirm-no">Not yet</button></div>
            <div class="small mt-2" id="c-status" aria-live="polite"></div></div>
            </form>
            """
        case .campaign:
            """
            <div id="problem" class="alert alert-warning" hidden></div>
            <div class="d-flex flex-wrap justify-content-between align-items-center gap-2 mb-2">
            <h2 class="h4 mb-0" id="campaign-name"></h2><span class="badge text-bg-primary" id="campaign-status"></span>
            </div>
            <p class="small" id="summary"></p>
            <div class="progress mb-2" role="progressbar" aria-label="Progress" id="progress-bar">
            <div class="progress-bar" id="progress"></div></div>
            <div class="d-flex flex-wrap gap-2 mb-3" id="actions">
            <button class="btn btn-sm btn-outline-secondary" id="pause" hidden>Pause</button>
            <button class="btn btn-sm btn-outline-secondary" id="resume" hidden>Resume</button>
            <button class="btn btn-sm btn-outline-danger" id="cancel" hidden>Cancel</button>
            <button class="btn btn-sm btn-outline-primary" id="retry" hidden>Retry failed</button>
            <span class="small align-self-center" id="action-status" aria-live="polite"></span></div>
            <div class="row g-3">
            <div class="col-12 col-lg-5"><div class="card"><div class="card-body"><h3 class="h6">Funnel</h3>
            <table class="table table-sm small mb-0" id="funnel"><tbody></tbody></table></div></div></div>
            <div class="col-12 col-lg-7"><div class="card"><div class="card-body"><h3 class="h6">Delivery over time
            </h3><canvas id="delivery-chart" height="160" aria-label="Messages per minute"></canvas></div></div></div>
            </div>
            <div class="card mt-3"><div class="card-body"><h3 class="h6">Failed messages</h3>
            <div class="table-responsive"><table class="table table-sm small mb-0" id="failed"><thead><tr>
            <th>customer</th><th>to</th><th>reason</th><th>attempts</th></tr></thead><tbody></tbody></table></div>
            </div></div>
            <div class="card mt-3"><div class="card-body"><h3 class="h6">Audit trail</h3>
            <ul class="small mb-0" id="audit"></ul></div></div>
            <div class="small text-muted mt-2" id="updated" aria-live="off"></div>
            """
        }
    }

    /// The overview's regions below the server-rendered figures, filled by `overview.js`.
    static let overviewShell = """
        <div class="row g-3 my-1" id="overview-figures"></div>
        <div class="row g-3">
        <div class="col-12 col-lg-8"><div class="card"><div class="card-body"><h2 class="h6">Revenue and orders,
        last 30 days</h2><canvas id="revenue-chart" height="140" aria-label="Daily revenue and orders"></canvas>
        </div></div></div>
        <div class="col-12 col-lg-4"><div class="card"><div class="card-body"><h2 class="h6">Active campaigns</h2>
        <ul class="list-unstyled small mb-0" id="active-campaigns"></ul></div></div></div></div>
        """
}
