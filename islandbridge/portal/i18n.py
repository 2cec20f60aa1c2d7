"""The portal's words, in Chinese (the default) and English."""

from __future__ import annotations

__all__ = ["LANGUAGES", "text"]

LANGUAGES = ("zh", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("数据报送门户", "Data hand-in portal"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": (
        "用户名或密码错误，或账号已被锁定/停用。",
        "Wrong user name or password, or the account is locked or disabled.",
    ),
    "login_throttled": (
        "登录尝试过于频繁，请稍后再试。",
        "Too many login attempts; try again later.",
    ),
    "sso_only": ("请通过学校统一身份认证登录。", "Log in through the university's single sign-on."),
    "uploads": ("我的报送", "My uploads"),
    "all_uploads": ("全部报送", "All uploads"),
    "new_upload": ("提交导出文件", "Hand in an export"),
    "source": ("数据来源", "Source"),
    "export_file": ("导出文件", "Export file"),
    "manifest_file": ("签名清单（.manifest.json）", "Signed manifest (.manifest.json)"),
    "drop_here": ("将文件拖放到此处，或点击选择", "Drop the files here, or click to choose"),
    "sign_in_browser": ("在浏览器中签名", "Sign in the browser"),
    "key_file": (
        "本部门私钥文件（.key，不会上传）",
        "Your private key file (.key, never uploaded)",
    ),
    "sign_hint": (
        "私钥只在本机浏览器中使用（WebCrypto Ed25519），不会离开您的电脑。也可以先用命令行签名：",
        "The key is used only in this browser (WebCrypto Ed25519) and never leaves your "
        "machine. Or sign on the command line first:",
    ),
    "submit": ("提交", "Hand in"),
    "max_size": ("大小上限", "Size limit"),
    "history": ("报送记录", "History"),
    "when": ("时间", "When"),
    "file": ("文件", "File"),
    "status": ("状态", "Status"),
    "verdict": ("签名结论", "Signature verdict"),
    "rows": ("记录数", "Records"),
    "rejected": ("退回记录", "Rejected rows"),
    "rejection_rate": ("退回率", "Rejection rate"),
    "details": ("详情", "Details"),
    "checks": ("文件检查", "File checks"),
    "queued": ("已排队等待入库", "Queued for intake"),
    "not_queued": ("未排队", "Not queued"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 Excel", "Download Excel"),
    "rejects_title": ("本次被退回的记录及原因", "Rejected rows of this upload and why"),
    "no_rejects": ("本次没有被退回的记录。", "No row of this upload was rejected."),
    "rejects_pending": (
        "入库运行完成后，这里将显示被退回的记录。",
        "The rejected rows appear here once the intake run has finished.",
    ),
    "rows_hidden": (
        "管理员只能看到数量和原因，不能看到具体记录。",
        "Stewards see counts and reasons, never the rows.",
    ),
    "more_rows": (
        "页面仅显示前 {n} 条，完整内容请下载。",
        "Only the first {n} are shown; download all.",
    ),
    "dashboard": ("管理看板", "Dashboard"),
    "department": ("部门", "Department"),
    "branch": ("支部", "Branch"),
    "latest_upload": ("最近一次报送", "Latest upload"),
    "latest_run": ("最近一次入库", "Latest intake run"),
    "accounts": ("账号管理", "Accounts"),
    "role": ("角色", "Role"),
    "create": ("创建", "Create"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "disabled": ("已停用", "disabled"),
    "active": ("正常", "active"),
    "not_found": ("没有找到该页面。", "Not found."),
    "forbidden": (
        "请求被拒绝（安全校验失败），请刷新页面后重试。",
        "Refused (security check failed); reload the page and try again.",
    ),
    "refused_upload": ("上传被拒绝", "Upload refused"),
    "cli_line": ("命令行签名", "Sign on the command line"),
    "signing": ("正在浏览器中签名…", "Signing in the browser…"),
    "none": ("暂无", "none"),
    "language": ("English", "中文"),
    # statuses
    "status_received": ("已接收", "received"),
    "status_awaiting_signature": ("等待签名", "awaiting signature"),
    "status_checked": ("已检查", "checked"),
    "status_validated": ("已校验", "validated"),
    "status_published": ("已发布", "published"),
    "status_refused": ("已拒收", "refused"),
    # checks
    "check_name": ("文件名规则", "File name pattern"),
    "check_content_type": ("文件类型", "Content type"),
    "check_encoding": ("字符编码", "Encoding"),
    "check_header": ("表头（列约定）", "Header contract"),
    "check_rows": ("记录数", "Row count"),
    "check_signature": ("签名", "Signature"),
    "check_queue": ("排队入库", "Queued for intake"),
    "ok": ("通过", "passed"),
    "failed": ("未通过", "failed"),
    "not_run": ("未执行", "not run"),
    # verdicts and reasons
    "valid": ("签名有效", "signature valid"),
    "not_required": ("无需签名", "no signature required"),
    "signature_missing": ("缺少签名清单", "no signed manifest"),
    "signature_invalid": (
        "签名无效：文件在签名后被修改或清单损坏",
        "signature invalid: the file changed after signing, or the manifest is damaged",
    ),
    "signature_untrusted": ("签名密钥未登记", "signed by a key not registered for this source"),
    "signature_mismatch": ("签名清单与文件不符", "the manifest does not match the file"),
    "signature_replayed": ("重复或过期的导出（重放）", "a repeated or outdated export (replay)"),
    "signature_legacy": ("仅有旧式 .sig 签名", "only an old detached .sig"),
    "trust_store_unavailable": ("信任库不可用", "the trust store cannot be used"),
    "wrong_content_type": ("文件类型不符", "wrong content type"),
    "unsigned": ("超过 24 小时未签名，已删除", "not signed within 24 hours; deleted"),
    "queue_busy": ("同名文件仍在等待入库", "an earlier export of this file is still waiting"),
    "publication_refused": (
        "本次发布被拒绝（见运行报告）",
        "the publication was refused (see the run report)",
    ),
    "encoding_failed": ("字符编码不符", "wrong encoding"),
    "header_failed": ("表头不符合约定", "the header breaks the column contract"),
    "rows_failed": ("文件无法完整读取", "the file cannot be read to the end"),
    "branch_not_yours": ("不是本支部的文件", "not your branch's file"),
    "name_unknown_branch": ("支部代码未登记", "unregistered branch code"),
    "name_not_matching": ("文件名不符合规则", "the name does not match the pattern"),
    "name_path_separator": ("文件名含路径分隔符", "the name holds a path separator"),
    "name_dot_dot": ("文件名含“..”", "the name holds '..'"),
    "name_percent_encoded": ("文件名含编码字符", "the name holds encoded characters"),
    "name_control_character": ("文件名含控制字符", "the name holds control characters"),
    "name_dot_file": ("文件名以点开头", "the name starts with a dot"),
    "name_blank": ("文件名为空", "blank name"),
    "name_too_long": ("文件名过长", "name too long"),
    "name_not_utf8": ("文件名不是 UTF-8", "the name is not UTF-8"),
    # check details (others are shown as they are: names of columns, counts, encodings)
    "the file's content is not what was signed": (
        "文件内容与签名不符（签名后被修改）",
        "the file's content is not what was signed",
    ),
    "no signed manifest beside the file": (
        "没有随文件提交签名清单",
        "no signed manifest beside the file",
    ),
    "this signed manifest was handed in before": (
        "该签名清单已提交过（重放）",
        "this signed manifest was handed in before",
    ),
    "this export was accepted before": (
        "该导出已被接收过（重放）",
        "this export was accepted before",
    ),
    "exported_at is not newer than the last accepted export's": (
        "导出时间不晚于上次已接收的导出",
        "exported_at is not newer than the last accepted export's",
    ),
    "the manifest's signature does not verify": (
        "签名校验失败",
        "the manifest's signature does not verify",
    ),
    "an earlier export of this file waits": (
        "同名文件仍在等待入库",
        "an earlier export of this file waits",
    ),
    "never signed": ("未签名", "never signed"),
    "detected by the reader": ("由读取器识别", "detected by the reader"),
    # refusals before storing
    "too_large": ("文件超过大小上限", "the file is larger than the limit"),
    "manifest_too_large": ("签名清单过大", "the manifest is too large"),
    "csrf": (
        "安全校验失败（CSRF），请刷新页面后重试",
        "security check failed (CSRF); reload and retry",
    ),
    "not_multipart": ("上传格式错误", "not a file upload"),
    "unknown_source": ("不能为该数据来源报送", "you cannot hand in for that source"),
    "no_export": ("没有选择导出文件", "no export file chosen"),
    "malformed": ("上传内容损坏", "malformed upload"),
    "unknown_field": ("上传内容含未知字段", "the upload holds an unknown field"),
    "too_many_parts": ("上传内容字段过多", "too many parts"),
    "field_too_large": ("表单字段过长", "a form field is too long"),
    "role_department": ("部门", "department"),
    "role_branch_secretary": ("支部书记", "branch secretary"),
    "role_steward": ("数据管理员", "steward"),
}


def text(key: str, language: str, **values: object) -> str:
    """The word for ``key`` in ``language``; an unknown key is shown as itself."""
    pair = _TEXT.get(key)
    if pair is None:
        return key
    chosen = pair[1] if language == "en" else pair[0]
    return chosen.format(**values) if values else chosen
