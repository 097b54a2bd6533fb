//! `GET /openapi.json`, generated from the handlers, and `GET /docs`, Swagger UI served from the
//! binary (vendored: no CDN).

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sluice",
        description = "An actor-based LLM gateway with an OpenAI-compatible API."
    ),
    paths(
        super::completions::chat_completions,
        super::completions::list_models,
        super::seed_chat::chat,
        super::health::live,
        super::health::ready,
        super::admin::actors,
        super::admin::restart_provider,
        super::accounting::costs,
        super::accounting::user_costs,
        super::accounting::projection,
        super::accounting::budgets,
        super::accounting::alerts,
        super::accounting::emergency,
        super::observe::stats,
        super::observe::metrics,
        super::admin::cache_stats,
        super::admin::eval,
    ),
    components(schemas(
        crate::wire::ChatRequest,
        crate::wire::ChatCompletion,
        super::seed_chat::SeedChatRequest,
        super::seed_chat::SeedChatResponse,
    ))
)]
pub struct ApiDoc;

/// The docs routes: Swagger UI under `/docs/` with the spec at `/openapi.json`.
pub fn service() -> impl actix_web::dev::HttpServiceFactory {
    (
        web::resource("/docs").route(web::get().to(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header(("location", "/docs/"))
                .finish()
        })),
        SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()),
    )
}
