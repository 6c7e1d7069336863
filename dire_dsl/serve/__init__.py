"""`dire serve`: a trained run or an exported graph as an HTTP inspection service, with a web page.

    from dire_dsl.serve.app import create_app
    app = create_app("out/model.onnx")          # any ASGI server runs it: uvicorn, gunicorn -k uvicorn

The service is stateless: it loads the model once at start-up and keeps nothing per request,
so any number of workers or machines serve the same model file side by side.
"""
