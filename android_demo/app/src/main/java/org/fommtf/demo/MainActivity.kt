package org.fommtf.demo

import android.Manifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.Color
import android.graphics.Typeface
import android.os.Bundle
import android.view.View
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.Button
import android.widget.CheckBox
import android.widget.ImageView
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import androidx.activity.enableEdgeToEdge
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.appcompat.app.AppCompatActivity
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import androidx.core.view.ViewCompat
import androidx.core.view.WindowInsetsCompat
import com.google.android.flexbox.FlexWrap
import com.google.android.flexbox.FlexboxLayout
import org.fommtf.core.DriverState
import org.fommtf.core.DriverState.Action

/**
 * One screen: the source photo and its live animation side by side, the camera preview, the
 * frame rate and per-stage milliseconds, and four controls (pick a photo, camera/clip driver,
 * re-centre, GPU) in a row that wraps on narrow screens. Edge to edge (targetSdk 35): the
 * content is padded by the system bars' and the display cutout's insets, and scrolls.
 *
 * Everything that outlives the screen is in [DemoViewModel] (the graphs, the source, the
 * driver state). The core's [DriverState] says what to do on each lifecycle event: onStop
 * pauses inference and stops the camera or the clip, onStart resumes them; a camera provider
 * that arrives after a stop binds nothing.
 *
 * Frame path: [CameraDriver] / [ClipDriver] → `LiveSession.offer/submit` (dropped before any
 * copy when busy) → core `AnimationPipeline.animate` (fit → kp_detector → relative motion →
 * generator, through [LiteRtEngine], all on the inference thread) → bitmap → [showFrame].
 */
class MainActivity : AppCompatActivity(), DemoViewModel.Screen {
    private val model: DemoViewModel by viewModels()
    private lateinit var sourceView: ImageView
    private lateinit var outputView: ImageView
    private lateinit var preview: PreviewView
    private lateinit var statsView: TextView
    private lateinit var statusView: TextView
    private lateinit var errorView: TextView
    private lateinit var driverButton: Button
    private var camera: CameraDriver? = null

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) model.pickPhoto(uri)
    }

    private val askCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        perform(model.driver.onPermission(granted))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        enableEdgeToEdge()
        super.onCreate(savedInstanceState)
        setContentView(buildLayout())
    }

    override fun onStart() {
        super.onStart()
        model.attach(this)
        if (model.driver.permission() != DriverState.Permission.GRANTED &&
            ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED
        ) {
            perform(model.driver.onPermission(true)) // granted earlier (or in the settings): no dialog
        }
        perform(model.driver.onStart())
    }

    override fun onStop() {
        perform(model.driver.onStop())
        model.detach(this)
        super.onStop()
    }

    /** Carry out what the core's DriverState decided, in order. */
    private fun perform(actions: List<Action>) {
        for (action in actions) {
            when (action) {
                Action.ASK_PERMISSION -> askCamera.launch(Manifest.permission.CAMERA)
                Action.OPEN_CAMERA -> {
                    preview.visibility = View.VISIBLE
                    val driver = camera ?: CameraDriver(
                        this, this, preview, model.session, model.pool
                    ) { e -> runOnUiThread { cameraFailed(e) } }.also { camera = it }
                    driver.open { perform(model.driver.onProviderReady()) }
                }
                Action.BIND_CAMERA -> try {
                    camera?.bind()
                } catch (e: Exception) {
                    cameraFailed(e)
                }
                Action.UNBIND_CAMERA -> camera?.unbind()
                Action.START_CLIP -> {
                    preview.visibility = View.GONE
                    model.clip.start(model.session) { e ->
                        model.showError("No driving clip in the assets (make android-assets): ${e.message}")
                    }
                }
                Action.STOP_CLIP -> model.clip.stop()
                Action.PAUSE_INFERENCE -> model.session.pause()
                Action.RESUME_INFERENCE -> model.session.resume()
                Action.RECENTRE -> model.session.recentre()
                Action.SAY_NO_PERMISSION ->
                    model.showError("No camera permission: playing the bundled driving clip instead")
                Action.SAY_CAMERA_FAILED ->
                    model.showError("The camera failed: playing the bundled driving clip instead")
            }
        }
        driverButton.text = if (model.driver.driver() == DriverState.Driver.CAMERA) "Use clip" else "Use camera"
    }

    private fun cameraFailed(error: Throwable) {
        model.showError("${error.javaClass.simpleName}: ${error.message}")
        perform(model.driver.onCameraError())
    }

    private fun buildLayout(): View {
        val density = resources.displayMetrics.density
        val pad = (8 * density).toInt()
        val scroll = ScrollView(this)
        val root = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(pad, pad, pad, pad)
        }
        scroll.addView(root, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        // Edge to edge: keep the content out of the status/navigation bars and the cutout.
        ViewCompat.setOnApplyWindowInsetsListener(scroll) { v, insets ->
            val bars = insets.getInsets(
                WindowInsetsCompat.Type.systemBars() or WindowInsetsCompat.Type.displayCutout(),
            )
            v.setPadding(bars.left, bars.top, bars.right, bars.bottom)
            WindowInsetsCompat.CONSUMED
        }
        val images = LinearLayout(this).apply { orientation = LinearLayout.HORIZONTAL }
        sourceView = ImageView(this).apply {
            scaleType = ImageView.ScaleType.FIT_CENTER
            adjustViewBounds = true
            contentDescription = "source photo"
        }
        outputView = ImageView(this).apply {
            scaleType = ImageView.ScaleType.FIT_CENTER
            adjustViewBounds = true
            contentDescription = "animated result"
        }
        images.addView(sourceView, LinearLayout.LayoutParams(0, WRAP_CONTENT, 1f).apply { marginEnd = pad })
        images.addView(outputView, LinearLayout.LayoutParams(0, WRAP_CONTENT, 1f))
        root.addView(images, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        preview = PreviewView(this).apply {
            scaleType = PreviewView.ScaleType.FILL_CENTER
            contentDescription = "camera preview"
        }
        root.addView(preview, LinearLayout.LayoutParams(MATCH_PARENT, (160 * density).toInt()))
        statsView = TextView(this).apply { typeface = Typeface.MONOSPACE }
        statusView = TextView(this)
        errorView = TextView(this).apply {
            setTextColor(Color.rgb(200, 30, 30))
            visibility = View.GONE
        }
        root.addView(statsView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        root.addView(statusView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        root.addView(errorView, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        // The controls wrap onto a second line on narrow screens and large fonts.
        val buttons = FlexboxLayout(this).apply { flexWrap = FlexWrap.WRAP }
        buttons.addView(Button(this).apply {
            text = "Photo…"
            setOnClickListener {
                pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
            }
        })
        driverButton = Button(this).apply {
            setOnClickListener {
                val next = if (model.driver.driver() == DriverState.Driver.CAMERA) DriverState.Driver.CLIP
                else DriverState.Driver.CAMERA
                perform(model.driver.select(next))
            }
        }
        buttons.addView(driverButton)
        buttons.addView(Button(this).apply {
            text = "Re-centre"
            setOnClickListener { model.session.recentre() }
        })
        buttons.addView(CheckBox(this).apply {
            text = "GPU"
            isChecked = model.useGpu // restored after a configuration change, no reload
            setOnCheckedChangeListener { _, checked -> model.setGpu(checked) }
        })
        root.addView(buttons, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT))
        driverButton.text = if (model.driver.driver() == DriverState.Driver.CAMERA) "Use clip" else "Use camera"
        return scroll
    }

    override fun showFrame(frame: Bitmap, stats: String) {
        outputView.setImageBitmap(frame)
        statsView.text = stats
    }

    override fun showSource(source: Bitmap) {
        sourceView.setImageBitmap(source)
    }

    override fun showStatus(text: String) {
        statusView.text = text
    }

    override fun showError(message: String?) {
        errorView.text = message ?: ""
        errorView.visibility = if (message == null) View.GONE else View.VISIBLE
    }

    override fun onDestroy() {
        camera?.unbind() // already unbound in onStop; idempotent
        camera = null
        super.onDestroy()
    }
}
