// The tenant gate (osp): a viewer-request CloudFront Function, runtime cloudfront-js-2.0, on
// the portal distribution that answers tenants' names. Its key value store maps host names
// (`<slug>.<domain>`, a tenant's custom domain) to the tenant's state; a host whose state is
// "suspended" is refused here, before the cache and the origin. Any other host passes
// unchanged: the portal's own name and names nobody registered have no key.
import cf from 'cloudfront';

const store = cf.kvs();

const SUSPENDED = 'suspended';

// 503, not 403: the portal's SPA routing turns every 403 and 404 into index.html with 200.
function refusal() {
    return {
        statusCode: 503,
        statusDescription: 'Service Unavailable',
        headers: {
            'content-type': { value: 'text/plain; charset=utf-8' },
            'cache-control': { value: 'no-store' },
        },
        body: { encoding: 'text', data: "This school's access is suspended.\n" },
    };
}

// Keys are lower-case names without a port or a final dot; a viewer may send either.
function hostOf(request) {
    const header = request.headers.host;
    if (!header) {
        return '';
    }
    return header.value.toLowerCase().split(':')[0].replace(/\.$/, '');
}

async function handler(event) {
    const request = event.request;
    const host = hostOf(request);
    if (host === '') {
        return request;
    }
    let state;
    try {
        state = await store.get(host);
    } catch (err) {
        // get() throws for a missing key (not a tenant's name). A store that cannot be read
        // fails open too: an outage of the gate must not take every school offline.
        return request;
    }
    return state === SUSPENDED ? refusal() : request;
}
