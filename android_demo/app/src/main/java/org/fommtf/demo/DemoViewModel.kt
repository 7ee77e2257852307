package org.fommtf.demo

import android.app.Application
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.net.Uri
import android.os.Handler
import android.os.Looper
import androidx.lifecycle.AndroidViewModel
import java.util.concurrent.Executors
import org.fommtf.core.BufferPool
import org.fommtf.core.DriverState
import org.fommtf.core.LiveSession

/**
 * What outlives a configuration change (rotation, dark mode, a resized window): the core's
 * [LiveSession] with its loaded graphs and cached source, the [DriverState], the decoded clip
 * and the last things shown. A new activity attaches, gets the last frame, status and error at
 * once, and the graphs are not reloaded nor the source re-encoded. Closed in [onCleared].
 */
class DemoViewModel(app: Application) : AndroidViewModel(app), LiveSession.Listener {
    /** What the screen shows; called on the main thread. */
    interface Screen {
        fun showFrame(frame: Bitmap, stats: String)
        fun showSource(source: Bitmap)
        fun showStatus(text: String)
        fun showError(message: String?)
    }

    private val main = Handler(Looper.getMainLooper())
    private val io = Executors.newSingleThreadExecutor()
    val pool = BufferPool(2)
    val session = LiveSession(LiteRtEngine.Factory(app), this, pool)
    val driver = DriverState(DriverState.Driver.CAMERA)
    val clip = ClipDriver(app)
    var useGpu = false
        private set
    private var screen: Screen? = null
    private var lastFrame: Pair<Bitmap, String>? = null
    private var lastSource: Bitmap? = null
    private var lastStatus = ""
    private var lastError: String? = null

    init {
        session.load(false)
        loadDefaultSource()
    }

    /** The screen is visible: it gets what was last shown, then every update. */
    fun attach(s: Screen) {
        screen = s
        lastSource?.let { s.showSource(it) }
        lastFrame?.let { (bitmap, stats) -> s.showFrame(bitmap, stats) }
        s.showStatus(lastStatus)
        s.showError(lastError)
    }

    fun detach(s: Screen) {
        if (screen === s) screen = null
    }

    fun setGpu(gpu: Boolean) {
        if (gpu == useGpu) return
        useGpu = gpu
        showError(null)
        session.load(gpu)
    }

    fun pickPhoto(uri: Uri) {
        io.execute {
            try {
                val bitmap = Pictures.decode(getApplication(), uri, 256)
                setSource(bitmap)
            } catch (e: Exception) {
                showError("Photo: ${e.message}")
            }
        }
    }

    /** The bundled `source.png` until the user picks a photo. */
    private fun loadDefaultSource() {
        io.execute {
            try {
                val app = getApplication<Application>()
                val bitmap = app.assets.open("source.png").use { BitmapFactory.decodeStream(it) }
                    ?: throw IllegalStateException("source.png is not an image")
                setSource(bitmap)
            } catch (e: Exception) {
                showError("No default source in the assets (make android-assets): ${e.message}")
            }
        }
    }

    private fun setSource(bitmap: Bitmap) {
        session.setSource(Pictures.toFrame(bitmap)) // encoded once, on the inference thread
        main.post {
            lastSource = bitmap
            screen?.showSource(bitmap)
        }
    }

    fun showError(message: String?) {
        main.post {
            lastError = message
            screen?.showError(message)
        }
    }

    // LiveSession.Listener: the inference thread

    override fun onFrame(argb: IntArray, width: Int, height: Int, stats: String) {
        val bitmap = Bitmap.createBitmap(argb, width, height, Bitmap.Config.ARGB_8888)
        main.post {
            lastFrame = bitmap to stats
            screen?.showFrame(bitmap, stats)
        }
    }

    override fun onStatus(text: String) {
        main.post {
            lastStatus = text
            screen?.showStatus(text)
        }
    }

    override fun onError(message: String) {
        showError(message)
    }

    override fun onCleared() {
        clip.stop()
        session.close() // the engine is closed on the inference thread
        io.shutdown()
        super.onCleared()
    }
}
